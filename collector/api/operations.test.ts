/**
 * Operations: rate limits (per token, per address when anonymous, 429 with the error shape), the OpenAPI document
 * (every route, with response schemas), server faults (500 without internals, logged server-side), secrets kept
 * out of logs, `/healthz` and `/api/v1/status`.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, type IngestStatus } from './app.ts';
import { A, bearer, openTestStore, type SeededWorld, seedWorld, type TestStore } from './testing/fixtures.ts';

let t: TestStore;
let world: SeededWorld;

beforeAll(async () => {
  t = await openTestStore();
  world = await seedWorld(t.store);
});
afterAll(async () => {
  await t?.close();
});

describe('rate limits', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApi({ store: t.store, rateLimit: { max: 3, timeWindowMs: 60_000 } });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers 429 once a token has used its budget, and keeps budgets per token', async () => {
    const a = bearer(world.tokens['enterprise-a'].secret);
    for (let i = 0; i < 3; i++) {
      expect((await app.inject({ url: '/api/v1/alerts', headers: a })).statusCode).toBe(200);
    }
    const limited = await app.inject({ url: '/api/v1/alerts', headers: a });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({
      error: { code: 'rate_limited', message: expect.stringContaining('rate limit exceeded') },
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another token (same client address) has its own budget.
    const b = await app.inject({ url: '/api/v1/alerts', headers: bearer(world.tokens['enterprise-b'].secret) });
    expect(b.statusCode).toBe(200);
  });

  it('limits failed authentication by client address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({
        url: '/api/v1/me',
        headers: bearer(`guess-${i}`),
        remoteAddress: '192.0.2.77',
      });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    // A different address is not affected.
    const other = await app.inject({ url: '/api/v1/me', remoteAddress: '192.0.2.78' });
    expect(other.statusCode).toBe(401);
  });

  it('does not limit /healthz (probes)', async () => {
    for (let i = 0; i < 6; i++) {
      expect((await app.inject({ url: '/healthz', remoteAddress: '192.0.2.99' })).statusCode).toBe(200);
    }
  });
});

/** Every operation the API offers (method and OpenAPI path) with its success status. */
const OPERATIONS: [string, string, string][] = [
  ['get', '/healthz', '200'],
  ['get', '/api/v1/me', '200'],
  ['get', '/api/v1/status', '200'],
  ['get', '/api/v1/enterprises', '200'],
  ['post', '/api/v1/enterprises', '201'],
  ['get', '/api/v1/enterprises/{id}', '200'],
  ['put', '/api/v1/enterprises/{id}', '200'],
  ['post', '/api/v1/enterprises/import', '200'],
  ['get', '/api/v1/enterprises/{id}/assets', '200'],
  ['get', '/api/v1/enterprises/{id}/asset-changes', '200'],
  ['get', '/api/v1/sensors', '200'],
  ['post', '/api/v1/sensors', '201'],
  ['get', '/api/v1/alerts', '200'],
  ['get', '/api/v1/alerts/{uid}', '200'],
  ['get', '/api/v1/aggregates/alerts', '200'],
  ['get', '/api/v1/traffic', '200'],
  ['get', '/api/v1/audit', '200'],
  ['post', '/api/v1/tokens', '201'],
  ['get', '/api/v1/tokens', '200'],
  ['delete', '/api/v1/tokens/{id}', '200'],
  ['post', '/api/v1/bulletins', '201'],
  ['get', '/api/v1/bulletins', '200'],
  ['get', '/api/v1/bulletins/{id}.{format}', '200'],
  ['get', '/api/v1/enterprises/{id}/evidence-pack', '200'],
  ['post', '/api/v1/alerts/{uid}/resolve', '200'],
  ['get', '/api/v1/risk', '200'],
  ['get', '/api/v1/risk/rollup', '200'],
  ['get', '/api/v1/risk/{enterprise}', '200'],
  ['get', '/api/v1/warnings', '200'],
  ['get', '/api/v1/warnings/{id}', '200'],
  ['post', '/api/v1/warnings/{id}/ack', '200'],
  ['post', '/api/v1/warnings/{id}/close', '200'],
];

describe('OpenAPI', () => {
  let app: FastifyInstance;
  let spec: {
    openapi: string;
    paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, { content?: unknown }> }>>;
  };
  beforeAll(async () => {
    app = await buildApi({ store: t.store });
    const res = await app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    spec = res.json();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('lists exactly the API routes, each with a success and an error response schema', () => {
    expect(spec.openapi).toBe('3.0.3');
    const listed = Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(listed.sort()).toEqual(OPERATIONS.map(([m, p]) => `${m} ${p}`).sort());
    for (const [method, path, ok] of OPERATIONS) {
      const op = spec.paths[path]?.[method];
      const success = op?.responses[ok] as { content?: Record<string, { schema?: { type?: string } }> } | undefined;
      expect(success?.content?.['application/json']?.schema?.type, `${method} ${path} ${ok}`).toBe('object');
      const error = op?.responses['500'] as { content?: Record<string, { schema?: { properties?: object } }> };
      expect(error?.content?.['application/json']?.schema?.properties, `${method} ${path} 500`).toHaveProperty('error');
    }
  });

  it('marks /healthz public and everything else bearer-authenticated', () => {
    expect(spec.paths['/healthz']?.get?.security).toEqual([]);
    expect((spec as unknown as { security: unknown }).security).toEqual([{ bearer: [] }]);
    expect(spec.paths['/api/v1/alerts']?.get?.security).toBeUndefined();
  });

  it('serves the UI at /docs', async () => {
    let res = await app.inject({ url: '/docs' });
    if (res.statusCode === 302) res = await app.inject({ url: String(res.headers.location) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('swagger');
  });
});

/** Collects pino's JSON lines. */
function logSink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

describe('server faults and logs', () => {
  it('answers 500 with a generic message, logs the fault with its stack, and never logs the secret', async () => {
    const failing = Object.create(t.store) as typeof t.store;
    failing.listAlerts = async () => {
      const err = new Error('SQLITE_CORRUPT: database disk image is malformed at /var/lib/otcollector/store.db');
      err.stack = `${err.message}\n    at KyselyStore.listAlerts (/work/main/collector/store/kysely-store.ts:761:5)`;
      throw err;
    };
    const sink = logSink();
    const app = await buildApi({
      store: failing,
      // Log request headers on purpose: the redaction must hold even when someone turns header logging on.
      logger: {
        stream: sink.stream,
        serializers: {
          req: (req: { method: string; url: string; headers: unknown }) => ({
            method: req.method,
            url: req.url,
            headers: req.headers,
          }),
        },
      },
    });
    try {
      const secret = world.tokens.admin.secret;
      const res = await app.inject({ url: '/api/v1/alerts', headers: bearer(secret) });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: { code: 'internal', message: 'internal server error' } });
      expect(res.body).not.toMatch(/SQLITE|kysely|\/var\/lib|stack/i);
      const log = sink.lines.join('\n');
      expect(log).toContain('SQLITE_CORRUPT');
      expect(log).toContain('kysely-store.ts:761');
      expect(log).toContain('[redacted]');
      expect(log).not.toContain(secret);
    } finally {
      await app.close();
    }
  });

  it('never sends a stack for client errors either', async () => {
    const app = await buildApi({ store: t.store });
    try {
      for (const req of [
        { url: '/api/v1/alerts?limit=x', headers: bearer(world.tokens.admin.secret) },
        { url: '/api/v1/alerts' },
        { url: '/api/v1/alerts', headers: { authorization: 'Basic dXNlcjpwYXNz' } },
        { url: `/api/v1/enterprises/${A.id}/assets`, headers: bearer(world.tokens['enterprise-b'].secret) },
        { url: '/api/v1/audit', headers: bearer(world.tokens.analyst.secret) },
      ]) {
        const res = await app.inject(req);
        expect(res.statusCode).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
        expect(res.body).not.toMatch(/\bat .+\(|\.ts:\d+|node_modules|"stack"/);
        expect(Object.keys(res.json() as object)).toEqual(['error']);
      }
    } finally {
      await app.close();
    }
  });

  it('says why authentication failed and asks for a bearer token', async () => {
    const app = await buildApi({ store: t.store });
    try {
      const missing = await app.inject({ url: '/api/v1/me' });
      expect(missing.statusCode).toBe(401);
      expect(missing.headers['www-authenticate']).toBe('Bearer');
      expect(missing.json()).toMatchObject({
        error: { code: 'unauthorized', message: expect.stringContaining('missing') },
      });
      const basic = await app.inject({ url: '/api/v1/me', headers: { authorization: 'Basic abc' } });
      expect(basic.json()).toMatchObject({
        error: { code: 'unauthorized', message: expect.stringContaining('Bearer') },
      });
      const revoked = await app.inject({ url: '/api/v1/me', headers: bearer(world.tokens.revoked.secret) });
      expect(revoked.json()).toMatchObject({
        error: { code: 'unauthorized', message: expect.stringContaining('revoked') },
      });
      // Refused before the body is read: an anonymous upload gets 401, not 413 or a parse of its content.
      const upload = await app.inject({
        method: 'POST',
        url: '/api/v1/enterprises/import',
        headers: { 'content-type': 'text/csv' },
        payload: 'x'.repeat(9 * 1024 * 1024),
      });
      expect(upload.statusCode).toBe(401);
      const role = await app.inject({ url: '/api/v1/status', headers: bearer(world.tokens.analyst.secret) });
      expect(role.statusCode).toBe(403);
      expect(role.json()).toMatchObject({ error: { code: 'forbidden' } });
    } finally {
      await app.close();
    }
  });
});

describe('health and status', () => {
  const ingest: IngestStatus = {
    running: true,
    lagMs: 850,
    pending: 12,
    received: 1000,
    accepted: 990,
    redelivered: 4,
    handlerErrors: 1,
    rejected: { schema: 7, identity_mismatch: 3 },
  };

  it('reports the store backend and ingest figures without authentication', async () => {
    let current = ingest;
    const app = await buildApi({ store: t.store, ingestStatus: () => current });
    try {
      const res = await app.inject({ url: '/healthz' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok', store: 'sqlite', ingest });
      current = { ...ingest, running: false };
      expect((await app.inject({ url: '/healthz' })).json()).toMatchObject({ status: 'degraded' });
    } finally {
      await app.close();
    }
  });

  it('reports store counts and size to a province admin', async () => {
    const app = await buildApi({ store: t.store, ingestStatus: () => ingest });
    try {
      const res = await app.inject({ url: '/api/v1/status', headers: bearer(world.tokens.admin.secret) });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { store: Record<string, number | string>; ingest: IngestStatus };
      expect(body.store).toMatchObject({ backend: 'sqlite', enterprises: 3, sensors: 3, alerts: 12, assets: 6 });
      expect(body.store.bytes).toBeGreaterThan(0);
      expect(body.ingest.rejected).toEqual({ schema: 7, identity_mismatch: 3 });
    } finally {
      await app.close();
    }
  });
});
