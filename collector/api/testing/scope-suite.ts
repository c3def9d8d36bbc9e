/**
 * The scope rules, route by route: every route × every caller (each role, a province analyst and admin of another
 * province, no token, a revoked token) × enterprise A and B. Each case checks the status code and that nothing of
 * an enterprise the caller may not see appears anywhere in the response body: its id, sensor id, city, device
 * addresses or alert uids. Runs against a real store (scope.test.ts: SQLite, scope.postgres.test.ts: PostgreSQL),
 * seeded through its own ingest.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BulletinAudience, buildBulletin } from '../../bulletins/build.ts';
import { BulletinArchive } from '../../bulletins/files.ts';
import { resolvePeriod } from '../../bulletins/period.ts';
import { loadRiskConfig } from '../../risk/config.ts';
import { RiskEngine } from '../../risk/engine.ts';
import { buildApi } from '../app.ts';
import {
  A,
  B,
  bearer,
  C,
  type EnterpriseFixture,
  ROLE_NAMES,
  type SeededWorld,
  seedWorld,
  type TestStore,
  type TokenName,
} from './fixtures.ts';

type Caller = TokenName | 'none';
const CALLERS: Caller[] = [...ROLE_NAMES, 'none'];

/** Whether a caller may see an enterprise (the rule under test, written out independently of the code). */
function sees(who: Caller, e: EnterpriseFixture): boolean {
  switch (who) {
    case 'admin':
    case 'analyst':
      return e.province === 'zhejiang';
    case 'admin-other':
    case 'analyst-other':
      return e.province === 'jiangsu';
    case 'enterprise-a':
    case 'assessor-a':
      return e === A;
    case 'enterprise-b':
      return e === B;
    case 'none':
    case 'revoked':
      return false;
  }
}

const anonymous = (who: Caller) => who === 'none' || who === 'revoked';
const isAdmin = (who: Caller) => who === 'admin' || who === 'admin-other';

interface Request {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  body?: unknown;
  csv?: string;
}

interface RouteCase {
  name: string;
  request(x: EnterpriseFixture, who: Caller, world: Ctx): Promise<Request> | Request;
  /** Expected status for an authenticated caller (anonymous ones always get 401 unless the route is public). */
  status(who: Caller, x: EnterpriseFixture): number;
  public?: boolean;
  /** Strings a 2xx body must contain when the caller sees x (proves the route returned x's data at all). */
  mustContain?(x: EnterpriseFixture, world: Ctx): string[];
}

interface Ctx {
  world: SeededWorld;
  t: TestStore;
  /** The API's state dir (stored bulletins, signing key). */
  stateDir: string;
  /** Bulletins stored for the bulletin cases (storedBulletins). */
  bulletins?: Record<string, string>;
  /** Risk scores were computed (riskScores). */
  riskDone?: boolean;
}

/** Reads: 200 for every authenticated role. */
const read = () => 200;
/** Enterprise-specific reads: 200 inside the scope, 404 outside. */
const scoped = (who: Caller, x: EnterpriseFixture) => (sees(who, x) ? 200 : 404);
/** Admin-only routes that are not about one enterprise. */
const adminOnly = (ok: number) => (who: Caller) => (isAdmin(who) ? ok : 403);
/** Admin-only writes about enterprise x: the province admin of x succeeds, another province's admin gets 404. */
const adminWrite = (ok: number) => (who: Caller, x: EnterpriseFixture) =>
  isAdmin(who) ? (sees(who, x) ? ok : 404) : 403;

let unique = 0;
const uniqueId = (prefix: string) => `${prefix}-${++unique}`;

const ROUTES: RouteCase[] = [
  { name: 'GET /healthz', public: true, request: () => ({ method: 'GET', url: '/healthz' }), status: read },
  { name: 'GET /me', request: () => ({ method: 'GET', url: '/api/v1/me' }), status: read },
  { name: 'GET /status', request: () => ({ method: 'GET', url: '/api/v1/status' }), status: adminOnly(200) },
  { name: 'GET /enterprises', request: () => ({ method: 'GET', url: '/api/v1/enterprises' }), status: read },
  {
    name: 'GET /enterprises?city=',
    request: (x) => ({ method: 'GET', url: `/api/v1/enterprises?city=${x.city}` }),
    status: read,
    mustContain: (x) => [x.id],
  },
  {
    name: 'GET /enterprises/:id',
    request: (x) => ({ method: 'GET', url: `/api/v1/enterprises/${x.id}` }),
    status: scoped,
    mustContain: (x) => [x.id, x.city],
  },
  {
    name: 'POST /enterprises',
    request: () => ({
      method: 'POST',
      url: '/api/v1/enterprises',
      body: {
        id: uniqueId('new-ent'),
        name: '新企业',
        province: 'zhejiang',
        city: 'wenzhou',
        industry: 'textiles',
        class: '平台企业',
        grade: '一级',
      },
    }),
    // Registering in zhejiang: its admin may, the other province's admin may not (403: a rule, not a lookup).
    status: (who) => (who === 'admin' ? 201 : 403),
  },
  {
    name: 'PUT /enterprises/:id',
    request: (x) => ({
      method: 'PUT',
      url: `/api/v1/enterprises/${x.id}`,
      body: {
        name: `${x.city} ${x.industry} 有限公司`,
        province: x.province,
        city: x.city,
        industry: x.industry,
        class: 'networked_industrial',
        grade: 2,
      },
    }),
    status: adminWrite(200),
    mustContain: (x) => [x.id],
  },
  {
    name: 'POST /enterprises/import',
    request: (x) => ({
      method: 'POST',
      url: '/api/v1/enterprises/import',
      csv: `id,name,province,city,industry,class,grade\n${x.id},${x.city} ${x.industry} 有限公司,${x.province},${x.city},${x.industry},联网工业企业,二级\n`,
    }),
    // The other province's admin gets a row error (the row's province is not its own), not a hint about the id.
    status: (who) => (who === 'admin' ? 200 : who === 'admin-other' ? 400 : 403),
  },
  {
    name: 'GET /enterprises/:id/assets',
    request: (x) => ({ method: 'GET', url: `/api/v1/enterprises/${x.id}/assets` }),
    status: scoped,
    mustContain: (x) => [`${x.net}.211`, `${x.net}.131`, '6ES7 315-2EH14-0AB0'],
  },
  {
    name: 'GET /enterprises/:id/asset-changes',
    request: (x) => ({ method: 'GET', url: `/api/v1/enterprises/${x.id}/asset-changes` }),
    status: scoped,
    mustContain: (x) => [`asset.new@${x.id}-f1:1`],
  },
  { name: 'GET /sensors', request: () => ({ method: 'GET', url: '/api/v1/sensors' }), status: read },
  {
    name: 'GET /sensors?enterprise=',
    request: (x) => ({ method: 'GET', url: `/api/v1/sensors?enterprise=${x.id}` }),
    status: read,
    mustContain: (x) => [x.sensor],
  },
  {
    name: 'POST /sensors',
    request: (x) => ({
      method: 'POST',
      url: '/api/v1/sensors',
      body: { id: uniqueId(`${x.sensor}-new`), enterpriseId: x.id },
    }),
    status: adminWrite(201),
  },
  { name: 'GET /alerts', request: () => ({ method: 'GET', url: '/api/v1/alerts?includeDrill=true' }), status: read },
  {
    name: 'GET /alerts?enterprise=',
    request: (x) => ({ method: 'GET', url: `/api/v1/alerts?enterprise=${x.id}&includeDrill=true&limit=1000` }),
    status: read,
    mustContain: (x, { world }) => [...(world.alertUids[x.id] ?? []), ...(world.drillUids[x.id] ?? [])],
  },
  {
    name: 'GET /alerts?sensor=',
    request: (x) => ({ method: 'GET', url: `/api/v1/alerts?sensor=${x.sensor}&minLevel=low` }),
    status: read,
    mustContain: (x, { world }) => world.alertUids[x.id] ?? [],
  },
  {
    name: 'GET /alerts/:uid',
    request: (x, _who, { world }) => ({ method: 'GET', url: `/api/v1/alerts/${world.alertUids[x.id]?.[0]}` }),
    status: scoped,
    mustContain: (x, { world }) => [world.alertUids[x.id]?.[0] ?? 'missing uid'],
  },
  {
    name: 'GET /alerts/:uid (drill)',
    request: (x, _who, { world }) => ({ method: 'GET', url: `/api/v1/alerts/${world.drillUids[x.id]?.[0]}` }),
    status: scoped,
    mustContain: (x, { world }) => [world.drillUids[x.id]?.[0] ?? 'missing uid'],
  },
  ...(['day', 'hour', 'level', 'city', 'industry', 'rule', 'protocol', 'enterprise'] as const).map(
    (by): RouteCase => ({
      name: `GET /aggregates/alerts?by=${by}`,
      request: () => ({ method: 'GET', url: `/api/v1/aggregates/alerts?by=${by}&includeDrill=true` }),
      status: read,
    }),
  ),
  {
    name: 'GET /aggregates/alerts?enterprise=',
    request: (x) => ({ method: 'GET', url: `/api/v1/aggregates/alerts?by=enterprise&enterprise=${x.id}` }),
    status: read,
    mustContain: (x) => [x.id],
  },
  { name: 'GET /traffic', request: () => ({ method: 'GET', url: '/api/v1/traffic' }), status: read },
  {
    name: 'GET /traffic?enterprise=',
    request: (x) => ({ method: 'GET', url: `/api/v1/traffic?enterprise=${x.id}` }),
    status: read,
    mustContain: () => ['s7comm', 'modbus'],
  },
  { name: 'GET /audit', request: () => ({ method: 'GET', url: '/api/v1/audit?limit=1000' }), status: adminOnly(200) },
  {
    name: 'GET /audit?enterprise=',
    request: (x) => ({ method: 'GET', url: `/api/v1/audit?enterprise=${x.id}&limit=1000` }),
    status: adminOnly(200),
  },
  {
    name: 'POST /tokens',
    request: (x) => ({
      method: 'POST',
      url: '/api/v1/tokens',
      body: { label: 'plant console', role: 'enterprise', enterprises: [x.id] },
    }),
    status: adminWrite(201),
    mustContain: (x) => [x.id, 'secret'],
  },
  {
    name: 'POST /tokens (assessor)',
    request: (x) => ({
      method: 'POST',
      url: '/api/v1/tokens',
      body: { label: 'assessor', role: 'assessor', enterprises: [x.id] },
    }),
    status: adminWrite(201),
  },
  { name: 'GET /tokens', request: () => ({ method: 'GET', url: '/api/v1/tokens' }), status: adminOnly(200) },
  {
    name: 'DELETE /tokens/:id',
    request: async (x, _who, { t }) => {
      const { token } = await t.store.createToken({
        label: 'to revoke',
        role: 'enterprise',
        province: x.province,
        enterprises: [x.id],
      });
      return { method: 'DELETE', url: `/api/v1/tokens/${token.id}` };
    },
    status: adminWrite(200),
  },
  // Bulletins and evidence packs (issue 9).
  {
    name: 'POST /bulletins',
    request: () => ({ method: 'POST', url: '/api/v1/bulletins', body: { period: 'weekly', from: '2024-05-06' } }),
    status: provinceOnly(201),
  },
  {
    name: 'POST /bulletins (enterprise)',
    request: (x) => ({
      method: 'POST',
      url: '/api/v1/bulletins',
      body: { period: 'weekly', from: '2024-05-06', enterprise: x.id },
    }),
    status: (who, x) => (isProvince(who) ? (sees(who, x) ? 201 : 404) : 403),
    mustContain: (x) => [x.id],
  },
  {
    name: 'GET /bulletins',
    request: async (_x, _who, ctx) => {
      await storedBulletins(ctx);
      return { method: 'GET', url: '/api/v1/bulletins' };
    },
    status: read,
    mustContain: (x, ctx) => [ctx.bulletins?.[x.id] ?? 'missing bulletin'],
  },
  {
    name: 'GET /bulletins/:id.:format',
    request: async (x, _who, ctx) => {
      const ids = await storedBulletins(ctx);
      return { method: 'GET', url: `/api/v1/bulletins/${ids[x.id]}.json` };
    },
    // An enterprise bulletin: its province's roles, the enterprise itself and its assessor.
    status: scoped,
    mustContain: (x) => [x.id, '"alerts.byLevel"'],
  },
  {
    name: 'GET /bulletins/:id.:format (province)',
    request: async (x, _who, ctx) => {
      const ids = await storedBulletins(ctx);
      return { method: 'GET', url: `/api/v1/bulletins/${ids[x.province]}.json` };
    },
    // A province bulletin compares enterprises: never shown to an enterprise or an assessor.
    status: (who, x) => (isProvince(who) && sees(who, x) ? 200 : 404),
    mustContain: (x) => [x.province, '"alerts.byLevel"'],
  },
  {
    name: 'GET /enterprises/:id/evidence-pack',
    request: (x) => ({
      method: 'GET',
      url: `/api/v1/enterprises/${x.id}/evidence-pack?from=2024-05-01T00:00:00Z&to=2024-05-13T00:00:00Z`,
    }),
    status: (who, x) => (who === 'enterprise-a' || who === 'enterprise-b' ? 403 : scoped(who, x)),
    mustContain: (x) => [x.id, 'manifest'],
  },
  // Risk, warnings and alert resolution (issue 9).
  {
    name: 'GET /risk',
    request: async (_x, _who, ctx) => {
      await riskScores(ctx);
      return { method: 'GET', url: '/api/v1/risk' };
    },
    status: read,
  },
  {
    name: 'GET /risk/:enterprise',
    request: async (x, _who, ctx) => {
      await riskScores(ctx);
      return { method: 'GET', url: `/api/v1/risk/${x.id}` };
    },
    status: scoped,
    mustContain: (x) => [x.id, 'contributions'],
  },
  {
    name: 'GET /risk/rollup',
    request: async (_x, _who, ctx) => {
      await riskScores(ctx);
      return { method: 'GET', url: '/api/v1/risk/rollup?by=city' };
    },
    status: provinceOnly(200),
  },
  { name: 'GET /warnings', request: () => ({ method: 'GET', url: '/api/v1/warnings' }), status: read },
  {
    name: 'GET /warnings/:id',
    request: async (x, _who, ctx) => ({ method: 'GET', url: `/api/v1/warnings/${await issueWarningFor(ctx, x)}` }),
    status: scoped,
    mustContain: (x) => [x.id, '测试预警'],
  },
  {
    name: 'POST /warnings/:id/ack',
    request: async (x, _who, ctx) => ({
      method: 'POST',
      url: `/api/v1/warnings/${await issueWarningFor(ctx, x)}/ack`,
      body: { note: '收到' },
    }),
    status: (who, x) => (who === 'enterprise-a' || who === 'enterprise-b' ? scoped(who, x) : 403),
    mustContain: (x) => [x.id],
  },
  {
    name: 'POST /warnings/:id/close',
    request: async (x, _who, ctx) => ({
      method: 'POST',
      url: `/api/v1/warnings/${await issueWarningFor(ctx, x)}/close`,
      body: { note: '已处置' },
    }),
    status: adminWrite(200),
    mustContain: (x) => [x.id],
  },
  {
    name: 'POST /alerts/:uid/resolve',
    request: (x, _who, ctx) => ({
      method: 'POST',
      url: `/api/v1/alerts/${ctx.world.alertUids[x.id]?.[0] ?? 'none'}/resolve`,
      body: { note: '已处理' },
    }),
    status: (who, x) => (who === 'enterprise-a' || who === 'enterprise-b' || isAdmin(who) ? scoped(who, x) : 403),
    mustContain: (x, ctx) => [ctx.world.alertUids[x.id]?.[0] ?? 'none'],
  },
];

/** Risk scores computed once from the seeded world (the API serves stored scores). */
async function riskScores(ctx: Ctx): Promise<void> {
  if (ctx.riskDone) return;
  await new RiskEngine(ctx.t.store, loadRiskConfig()).recompute({ kind: 'all' });
  ctx.riskDone = true;
}

let warningSeq = 0;
/** A fresh warning targeting x alone (each case acts on its own, so acks and closes do not interfere). */
async function issueWarningFor(ctx: Ctx, x: EnterpriseFixture): Promise<string> {
  const { warning } = await ctx.t.store.issueWarning({
    dedupeKey: `scope|${x.id}|${++warningSeq}`,
    ruleId: 'scope.test',
    title: { zh: '测试预警', en: 'Test warning' },
    description: 'scope test',
    level: 'yellow',
    province: x.province,
    audience: { province: x.province, enterprises: [x.id] },
    targets: [x.id],
    facts: [],
    issuedAt: new Date().toISOString(),
    issuedBy: 'scope-suite',
    drill: false,
  });
  return warning.id;
}

function isProvince(who: Caller): boolean {
  return who === 'admin' || who === 'analyst' || who === 'admin-other' || who === 'analyst-other';
}

/** Province roles only (bulletin generation). */
function provinceOnly(ok: number) {
  return (who: Caller) => (isProvince(who) ? ok : 403);
}

/** Stores (once) an enterprise bulletin for A and B and a province bulletin per province; ids by enterprise/province. */
async function storedBulletins(ctx: Ctx): Promise<Record<string, string>> {
  if (ctx.bulletins) return ctx.bulletins;
  const archive = new BulletinArchive(ctx.stateDir);
  const ids: Record<string, string> = {};
  const audiences: [string, BulletinAudience][] = [
    [A.id, { province: A.province, enterprise: A.id }],
    [B.id, { province: B.province, enterprise: B.id }],
    [A.province, { province: A.province }],
    [C.province, { province: C.province }],
  ];
  for (const [key, audience] of audiences) {
    const data = await buildBulletin(ctx.t.store, {
      audience,
      period: resolvePeriod('weekly', { from: '2024-05-06' }),
    });
    await archive.save(data, ['json']);
    ids[key] = data.id;
  }
  ctx.bulletins = ids;
  return ids;
}

/** Everything that identifies an enterprise's data in a response. */
function fingerprints(e: EnterpriseFixture, world: SeededWorld): string[] {
  return [e.id, e.sensor, e.city, `${e.net}.`, ...(world.alertUids[e.id] ?? []), ...(world.drillUids[e.id] ?? [])];
}

/** Registers the table-driven scope test against the store `open` gives (a fresh, empty, migrated one). */
export function describeScopeRules(backend: string, open: () => Promise<TestStore>): void {
  describe(`scope on ${backend}: every route × every caller × enterprise`, () => {
    let t: TestStore;
    let world: SeededWorld;
    let app: FastifyInstance;
    let ctx: Ctx;

    beforeAll(async () => {
      t = await open();
      world = await seedWorld(t.store);
      ctx = { world, t, stateDir: join(t.dir, 'state') };
      app = await buildApi({
        store: t.store,
        rateLimit: { max: 100_000, timeWindowMs: 60_000 },
        stateDir: ctx.stateDir,
      });
    });
    afterAll(async () => {
      await app?.close();
      await t?.close();
    });

    const cases = ROUTES.flatMap((route) =>
      [A, B].flatMap((x) => CALLERS.map((who) => ({ route, x, who, label: `${route.name} as ${who} on ${x.id}` }))),
    );

    it('covers every route the API registers', async () => {
      const spec = JSON.parse((await app.inject({ method: 'GET', url: '/docs/json' })).body) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const registered = Object.entries(spec.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace('/api/v1', '').replace(/\{(\w+)\}/g, ':$1')}`),
      );
      const tested = new Set(ROUTES.map((r) => r.name.split('?')[0]?.replace(/ \(.*\)$/, '')));
      for (const route of registered) expect(tested, `no scope case for ${route}`).toContain(route);
      expect(cases.length).toBe(ROUTES.length * 2 * CALLERS.length);
    });

    it.each(cases)('$label', async ({ route, x, who }) => {
      const req = await route.request(x, who, ctx);
      const headers: Record<string, string> = who === 'none' ? {} : bearer(world.tokens[who].secret);
      if (req.csv !== undefined) headers['content-type'] = 'text/csv';
      const res = await app.inject({
        method: req.method,
        url: req.url,
        headers,
        ...(req.csv !== undefined
          ? { payload: req.csv }
          : req.body !== undefined
            ? { payload: req.body as object }
            : {}),
      });
      const expected = route.public ? route.status(who, x) : anonymous(who) ? 401 : route.status(who, x);
      expect(res.statusCode, res.body).toBe(expected);
      const body = res.json() as Record<string, unknown>;
      if (expected >= 400) {
        expect(body).toEqual({
          error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }),
        });
      }
      // Nothing of an enterprise outside the caller's scope, in any response (errors included).
      for (const other of [A, B, C]) {
        if (sees(who, other)) continue;
        for (const mark of fingerprints(other, world)) {
          expect(res.body.includes(mark), `${mark} of ${other.id} leaked to ${who}`).toBe(false);
        }
      }
      if (expected < 300 && route.mustContain && sees(who, x)) {
        for (const mark of route.mustContain(x, ctx)) expect(res.body).toContain(mark);
      }
    });
  });
}
