/**
 * Bad input gets a 4xx with the error shape and a message saying what is wrong, never a 500 and never a stack:
 * bad query parameters, bad ids, unknown fields, oversized and malformed bodies, wrong content types, bad CSV.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from './app.ts';
import { A, bearer, openTestStore, type SeededWorld, seedWorld, type TestStore } from './testing/fixtures.ts';

let t: TestStore;
let world: SeededWorld;
let app: FastifyInstance;

beforeAll(async () => {
  t = await openTestStore();
  world = await seedWorld(t.store);
  app = await buildApi({ store: t.store, bodyLimit: 64 * 1024, importBodyLimit: 256 * 1024 });
});
afterAll(async () => {
  await app?.close();
  await t?.close();
});

const admin = () => bearer(world.tokens.admin.secret);

/** Checks the error shape and that nothing internal (stack frames, file paths) is in the body. */
function expectClientError(res: { statusCode: number; body: string }, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  const body = JSON.parse(res.body) as { error: { code: string; message: string; details?: unknown[] } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(3);
  expect(res.body).not.toMatch(/\bat .+\(|\.ts:\d+|node_modules|\/work\//);
  return body;
}

const BAD_QUERIES: [string, string][] = [
  ['limit below 1', '/api/v1/alerts?limit=0'],
  ['limit above 1000', '/api/v1/alerts?limit=1001'],
  ['limit not a number', '/api/v1/alerts?limit=ten'],
  ['unknown level', '/api/v1/alerts?level=severe'],
  ['unknown minLevel', '/api/v1/alerts?minLevel=urgent'],
  ['from not a time', '/api/v1/alerts?from=yesterday'],
  ['to without zone', '/api/v1/alerts?to=2024-05-06T08:00:00'],
  ['includeDrill not a boolean', '/api/v1/alerts?includeDrill=maybe'],
  ['enterprise with a dot', '/api/v1/alerts?enterprise=acme.chem'],
  ['sensor with a wildcard', '/api/v1/alerts?sensor=*'],
  ['unknown parameter', '/api/v1/alerts?severity=high'],
  ['cursor with bad characters', '/api/v1/alerts?cursor=%3Cscript%3E'],
  ['aggregate without by', '/api/v1/aggregates/alerts'],
  ['aggregate by unknown', '/api/v1/aggregates/alerts?by=week'],
  ['grade out of range', '/api/v1/enterprises?grade=4'],
  ['traffic from not a time', '/api/v1/traffic?from=2024-13-01T00:00:00Z'],
  ['audit limit zero', '/api/v1/audit?limit=0'],
  ['asset-changes limit huge', `/api/v1/enterprises/${A.id}/asset-changes?limit=99999`],
];

describe('query validation', () => {
  it.each(BAD_QUERIES)('%s → 400', async (_name, url) => {
    const body = expectClientError(await app.inject({ url, headers: admin() }), 400, 'invalid_request');
    expect(body.error.details?.length ?? 0).toBeGreaterThan(0);
  });

  it('names the offending parameter', async () => {
    const res = await app.inject({ url: '/api/v1/alerts?limit=0', headers: admin() });
    const body = expectClientError(res, 400, 'invalid_request');
    expect(body.error.details).toEqual([expect.objectContaining({ path: 'querystring/limit' })]);
  });

  it('refuses a time range that ends before it starts', async () => {
    const res = await app.inject({
      url: '/api/v1/alerts?from=2024-05-07T00:00:00Z&to=2024-05-06T00:00:00Z',
      headers: admin(),
    });
    expectClientError(res, 400, 'invalid_request');
  });

  it('refuses a well-formed but forged cursor (the store rejects it as input, not as a fault)', async () => {
    const forged = Buffer.from('not-a-uuid', 'utf8').toString('base64url');
    expectClientError(
      await app.inject({ url: `/api/v1/alerts?cursor=${forged}`, headers: admin() }),
      400,
      'invalid_request',
    );
  });

  it('accepts repeated level parameters and a real cursor (the valid neighbours of the cases above)', async () => {
    const first = await app.inject({ url: '/api/v1/alerts?level=low&level=high&limit=1', headers: admin() });
    expect(first.statusCode).toBe(200);
    const page = first.json() as { items: { level: string }[]; nextCursor: string | null };
    expect(page.items).toHaveLength(1);
    expect(['low', 'high']).toContain(page.items[0]?.level);
    expect(page.nextCursor).not.toBeNull();
    const second = await app.inject({
      url: `/api/v1/alerts?level=low&level=high&limit=1&cursor=${page.nextCursor}`,
      headers: admin(),
    });
    expect(second.statusCode).toBe(200);
  });
});

describe('path validation', () => {
  it.each([
    ['enterprise id with spaces', '/api/v1/enterprises/acme%20chem'],
    ['enterprise id too long', `/api/v1/enterprises/${'x'.repeat(65)}`],
    ['enterprise id with a dot', '/api/v1/enterprises/acme.chem/assets'],
    ['alert uid not hex', '/api/v1/alerts/zzzz'],
    ['token id with a slash-like char', '/api/v1/tokens/abc%2Fdef'],
  ])('%s → 400', async (_name, url) => {
    const method = url.startsWith('/api/v1/tokens/') ? 'DELETE' : 'GET';
    expectClientError(await app.inject({ method, url, headers: admin() }), 400, 'invalid_request');
  });

  it('answers 404 JSON for an unknown route and an unknown alert', async () => {
    expectClientError(await app.inject({ url: '/api/v1/nothing-here', headers: admin() }), 404, 'not_found');
    expectClientError(
      await app.inject({ url: '/api/v1/alerts/01900000-0000-7000-8000-000000000000', headers: admin() }),
      404,
      'not_found',
    );
  });
});

const goodEnterprise = {
  id: 'valid-ent',
  name: '有效企业',
  province: 'zhejiang',
  city: 'hangzhou',
  industry: 'chemicals',
  class: 'networked_industrial',
  grade: 2,
};

describe('body validation', () => {
  it.each([
    ['bad class', { ...goodEnterprise, class: 'factory' }],
    ['bad grade', { ...goodEnterprise, grade: 4 }],
    ['bad zh grade', { ...goodEnterprise, grade: '四级' }],
    ['bad id', { ...goodEnterprise, id: 'has space' }],
    ['empty name', { ...goodEnterprise, name: '' }],
    ['missing city', { ...goodEnterprise, city: undefined }],
    ['unknown field', { ...goodEnterprise, owner: 'x' }],
    ['contacts not an array', { ...goodEnterprise, contacts: 'x' }],
  ])('POST /enterprises with %s → 400', async (_name, payload) => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/enterprises', headers: admin(), payload });
    expectClientError(res, 400, 'invalid_request');
  });

  it('accepts the zh-CN class and grade and answers with codes', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/enterprises',
      headers: admin(),
      payload: { ...goodEnterprise, id: 'zh-ent', class: '标识解析企业', grade: '三级' },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      id: 'zh-ent',
      class: 'identifier_resolution',
      classZh: '标识解析企业',
      grade: 3,
    });
  });

  it('refuses registering an id twice with 409', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/enterprises',
      headers: admin(),
      payload: { ...goodEnterprise, id: A.id },
    });
    expectClientError(res, 409, 'conflict');
  });

  it('refuses a sensor of an unknown enterprise with 404 and a sensor moved between enterprises with 409', async () => {
    expectClientError(
      await app.inject({
        method: 'POST',
        url: '/api/v1/sensors',
        headers: admin(),
        payload: { id: 'new-sensor', enterpriseId: 'no-such-ent' },
      }),
      404,
      'not_found',
    );
    expectClientError(
      await app.inject({
        method: 'POST',
        url: '/api/v1/sensors',
        headers: admin(),
        payload: { id: 'bolt-s1', enterpriseId: A.id },
      }),
      409,
      'conflict',
    );
  });

  it('refuses inconsistent token requests', async () => {
    for (const payload of [
      { label: 'x', role: 'enterprise', enterprises: [] },
      { label: 'x', role: 'enterprise', enterprises: [A.id, 'bolt-power'] },
      { label: 'x', role: 'assessor' },
      { label: 'x', role: 'province-analyst', enterprises: [A.id] },
      { label: 'x', role: 'superuser' },
      { label: '', role: 'province-analyst' },
    ]) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin(), payload });
      expectClientError(res, 400, 'invalid_request');
    }
    expectClientError(
      await app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: admin(),
        payload: { label: 'x', role: 'province-analyst', province: 'jiangsu' },
      }),
      403,
      'forbidden',
    );
  });

  it('answers 400 malformed_json for broken JSON', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/enterprises',
      headers: { ...admin(), 'content-type': 'application/json' },
      payload: '{"id": "x", "name": ',
    });
    expectClientError(res, 400, 'malformed_json');
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/enterprises',
      headers: { ...admin(), 'content-type': 'application/json' },
      payload: JSON.stringify({ ...goodEnterprise, name: 'x'.repeat(100 * 1024) }),
    });
    expectClientError(res, 413, 'body_too_large');
  });

  it('answers 415 for an unsupported content type', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/enterprises',
      headers: { ...admin(), 'content-type': 'application/xml' },
      payload: '<enterprise/>',
    });
    expectClientError(res, 415, 'unsupported_media_type');
  });

  it('refuses a CSV body on a JSON route', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/enterprises',
      headers: { ...admin(), 'content-type': 'text/csv' },
      payload: 'id,name\nx,y\n',
    });
    expectClientError(res, 400, 'invalid_request');
  });

  it('refuses a JSON body on the CSV route', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/enterprises/import',
      headers: admin(),
      payload: { id: 'x' },
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.json()).toEqual({ error: expect.objectContaining({ code: expect.any(String) }) });
  });
});

describe('CSV import', () => {
  const header = 'id,name,province,city,industry,class,grade,contact_name,contact_phone,contact_email';
  const post = (csv: string) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/enterprises/import',
      headers: { ...admin(), 'content-type': 'text/csv; charset=utf-8' },
      payload: csv,
    });

  it('reports every bad row with its line number and imports nothing', async () => {
    const csv = [
      header,
      'csv-ok-1,杭州化工,zhejiang,hangzhou,chemicals,联网工业企业,一级,李工,13800000001,li@example.cn',
      'csv-bad-class,坏类别,zhejiang,hangzhou,chemicals,工厂,二级,,,',
      'csv-bad-grade,坏等级,zhejiang,hangzhou,chemicals,platform,四级,,,',
      'csv bad id,坏编号,zhejiang,hangzhou,chemicals,platform,1,,,',
      'csv-ok-1,重复,zhejiang,hangzhou,chemicals,platform,1,,,',
      'csv-short,少列,zhejiang',
      '"csv-quote,"bad",zhejiang,hangzhou,chemicals,platform,1,,,',
      'csv-other,外省,jiangsu,nanjing,chemicals,platform,1,,,',
      'csv-mail,邮件,zhejiang,hangzhou,chemicals,platform,1,王工,,not-an-email',
    ].join('\n');
    const body = expectClientError(await post(csv), 400, 'invalid_csv');
    const paths = (body.error.details as { path: string }[]).map((d) => d.path);
    expect(paths).toEqual([
      'line 3/class',
      'line 4/grade',
      'line 5/id',
      'line 6/id',
      'line 7',
      'line 8',
      'line 9/province',
      'line 10/contact_email',
    ]);
    const listed = await app.inject({ url: '/api/v1/enterprises/csv-ok-1', headers: admin() });
    expect(listed.statusCode).toBe(404);
  });

  it('imports zh-CN and coded rows, with quoted fields and CRLF, and updates existing ones', async () => {
    const csv = [
      '\uFEFF' + header,
      'csv-new-1,"宁波港务, 有限公司",zhejiang,ningbo,ports,平台企业,二级,陈工,13800000002,chen@example.cn',
      `csv-new-2,"名称含""引号""",zhejiang,wenzhou,textiles,identifier_resolution,3,,,`,
      `${A.id},更名后的企业,zhejiang,hangzhou,chemicals,networked_industrial,一级,,,`,
    ].join('\r\n');
    const res = await post(csv);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ rows: 3, created: 2, updated: 1 });
    const one = (await app.inject({ url: '/api/v1/enterprises/csv-new-1', headers: admin() })).json();
    expect(one).toMatchObject({
      name: '宁波港务, 有限公司',
      class: 'platform',
      grade: 2,
      contacts: [{ name: '陈工', phone: '13800000002', email: 'chen@example.cn' }],
    });
    const two = (await app.inject({ url: '/api/v1/enterprises/csv-new-2', headers: admin() })).json();
    expect(two).toMatchObject({ name: '名称含"引号"', class: 'identifier_resolution', grade: 3, contacts: [] });
    // Updating A kept its registered contact and maintenance window (the row had none).
    const a = (await app.inject({ url: `/api/v1/enterprises/${A.id}`, headers: admin() })).json();
    expect(a).toMatchObject({ name: '更名后的企业', grade: 1, maintenanceWindows: ['Sat 02:00-06:00'] });
    expect((a as { contacts: unknown[] }).contacts).toHaveLength(1);
  });

  it('refuses a file with a missing column, an unknown column, or nothing after the header', async () => {
    expectClientError(
      await post('id,name,province,city,industry,class\nx,y,zhejiang,a,b,platform\n'),
      400,
      'invalid_csv',
    );
    expectClientError(await post(`${header},owner\n`), 400, 'invalid_csv');
    expectClientError(await post(`${header}\n`), 400, 'invalid_csv');
    expectClientError(await post(''), 400, 'invalid_csv');
  });

  it('refuses a file that is not UTF-8 (a GBK export) instead of importing garbled names', async () => {
    // "杭州" in GBK: bytes that are not valid UTF-8.
    const gbk = Buffer.concat([
      Buffer.from(`${header}\ncsv-gbk,`),
      Buffer.from([0xba, 0xbc, 0xd6, 0xdd]),
      Buffer.from(',zhejiang,hangzhou,chemicals,platform,1,,,\n'),
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/enterprises/import',
      headers: { ...admin(), 'content-type': 'text/csv' },
      payload: gbk,
    });
    const body = expectClientError(res, 400, 'invalid_csv');
    expect(JSON.stringify(body)).toContain('UTF-8');
  });

  it('answers 413 for a CSV over the import limit', async () => {
    const row = 'csv-big,大文件,zhejiang,hangzhou,chemicals,platform,1,,,\n';
    expectClientError(await post(header + '\n' + row.repeat(6000)), 413, 'body_too_large');
  });
});
