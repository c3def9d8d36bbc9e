/**
 * registerWeb over a real SQLite store (the API's test province, collector/api/testing/fixtures.ts): how the page
 * and its assets are served, the ticket exchange, and the live stream over a real HTTP connection — scope, one-use
 * tickets, several collector instances sharing one store, clean-up on disconnect.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, authorize } from '../api/auth.ts';
import { handleError } from '../api/errors.ts';
import { A, B, bearer, openTestStore, type SeededWorld, seedWorld, type TestStore } from '../api/testing/fixtures.ts';
import type { IngestMessage } from '../store/types.ts';
import { CONTENT_SECURITY_POLICY, registerWeb } from './plugin.ts';

let ts: TestStore;
let world: SeededWorld;
const apps: FastifyInstance[] = [];
let builtMs = 0;

async function webApp(): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  await registerWeb(app, {
    store: ts.store,
    live: { pollMs: 100, heartbeatMs: 200 },
    onBuilt: (info) => {
      builtMs = info.buildMs;
    },
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  apps.push(app);
  return { app, url };
}

let main: { app: FastifyInstance; url: string };

beforeAll(async () => {
  ts = await openTestStore();
  await ts.store.migrate();
  world = await seedWorld(ts.store);
  main = await webApp();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await ts?.close();
});

interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

/** A real EventSource-like reader over fetch: collects events until closed. */
async function openStream(url: string) {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const events: SseEvent[] = [];
  let buffer = '';
  const reading = (async () => {
    if (!res.body) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const ev: SseEvent = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('data: ')) ev.data = line.slice(6);
            else if (line.startsWith('id: ')) ev.id = line.slice(4);
          }
          if (block.includes('event: ')) events.push(ev);
          cut = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    res,
    events,
    alerts: () =>
      events.filter((e) => e.event === 'alert').map((e) => JSON.parse(e.data) as { uid: string; enterpriseId: string }),
    async close() {
      controller.abort();
      await reading;
    },
  };
}

async function ticketFor(url: string, secret: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/live/ticket`, { method: 'POST', headers: bearer(secret) });
  expect(res.status).toBe(200);
  expect(res.headers.get('cache-control')).toBe('no-store');
  return ((await res.json()) as { ticket: string }).ticket;
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

let seq = 100;
/** Fresh alerts for an enterprise, copied from one of its stored (sensor-made) alert events with new ids. */
async function ingestNewAlert(enterpriseId: string, sensor: string, province: string): Promise<string> {
  const page = await ts.store.listAlerts({ kind: 'all' }, { enterpriseId }, { limit: 1 });
  const model = page.items[0];
  if (!model) throw new Error(`no alert to copy for ${enterpriseId}`);
  seq++;
  const event = { ...model.event, id: `${model.ruleId}@live-${seq}:1`, flow: `live-${seq}` };
  const message: IngestMessage = {
    province,
    enterprise: enterpriseId,
    sensor,
    seq,
    drill: false,
    receivedAt: new Date().toISOString(),
    kind: 'alert',
    alerts: [event],
  };
  const result = await ts.store.ingest([message]);
  expect(result.alertsInserted).toBe(1);
  return event.id;
}

describe('serving the dashboard', () => {
  it('builds at start, in memory, and says how long it took', async () => {
    expect(builtMs).toBeGreaterThan(0);
    const bundle = main.app.web?.bundle;
    await bundle?.compressed;
    expect(bundle?.bytes.js).toBeGreaterThan(100_000);
    expect(bundle?.bytes.jsBrotli).toBeLessThan(bundle?.bytes.js ?? 0);
  });

  it('serves index.html uncached, with a strict CSP and no inline code', async () => {
    const res = await fetch(`${main.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).toContain('<html lang="zh-CN">');
    // Every script has a src (nothing inline), and both assets are hashed same-origin paths.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]?.[1]).toMatch(/src="\/assets\/main-[A-Z0-9]+\.js"/);
    expect(scripts[0]?.[2]).toBe('');
    expect(html).toMatch(/<link rel="stylesheet" href="\/assets\/main-[A-Z0-9]+\.css">/);
    expect(html).not.toMatch(/https?:\/\//);
    const etag = res.headers.get('etag') ?? '';
    const again = await fetch(`${main.url}/`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('serves hashed assets as immutable, compressed as the client accepts', async () => {
    await main.app.web?.bundle.compressed;
    const html = await (await fetch(`${main.url}/`)).text();
    const js = /src="([^"]+)"/.exec(html)?.[1] ?? '';
    const css = /href="([^"]+\.css)"/.exec(html)?.[1] ?? '';
    const plain = await fetch(`${main.url}${js}`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('content-encoding')).toBeNull();
    const body = await plain.text();
    expect(Buffer.byteLength(body)).toBe(main.app.web?.bundle.bytes.js);
    // fetch decodes for us: the decoded brotli and gzip bodies are the same script.
    for (const enc of ['br', 'gzip']) {
      const res = await fetch(`${main.url}${js}`, { headers: { 'accept-encoding': enc } });
      expect(res.headers.get('content-encoding')).toBe(enc);
      expect(res.headers.get('vary')).toBe('accept-encoding');
      expect(await res.text()).toBe(body);
    }
    const style = await fetch(`${main.url}${css}`);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await style.text()).toContain('--ink');
    const etag = plain.headers.get('etag') ?? '';
    expect((await fetch(`${main.url}${js}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const missing = await fetch(`${main.url}/assets/main-NOPE.js`);
    expect(missing.status).toBe(404);
  });
});

describe('live alert stream', () => {
  it('gives a ticket only for a valid token', async () => {
    expect((await fetch(`${main.url}/api/v1/live/ticket`, { method: 'POST' })).status).toBe(401);
    const revoked = await fetch(`${main.url}/api/v1/live/ticket`, {
      method: 'POST',
      headers: bearer(world.tokens.revoked.secret),
    });
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toBe('Bearer');
    const ticket = await ticketFor(main.url, world.tokens['enterprise-a'].secret);
    expect(ticket.length).toBeGreaterThan(40);
  });

  it('refuses a missing, unknown or used ticket, and never takes the token itself', async () => {
    expect((await fetch(`${main.url}/api/v1/live`)).status).toBe(401);
    expect((await fetch(`${main.url}/api/v1/live?ticket=forged`)).status).toBe(401);
    // The long-lived token in the URL is not a ticket.
    expect((await fetch(`${main.url}/api/v1/live?ticket=${world.tokens.admin.secret}`)).status).toBe(401);
    const ticket = await ticketFor(main.url, world.tokens['enterprise-a'].secret);
    const first = await openStream(`${main.url}/api/v1/live?ticket=${ticket}`);
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const second = await fetch(`${main.url}/api/v1/live?ticket=${ticket}`);
    expect(second.status).toBe(401);
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('invalid_ticket');
    await first.close();
    const bad = await fetch(
      `${main.url}/api/v1/live?ticket=${await ticketFor(main.url, world.tokens.admin.secret)}&since=x`,
    );
    expect(bad.status).toBe(400);
  });

  it('pushes new alerts within the caller scope only, with heartbeats', async () => {
    const streamA = await openStream(
      `${main.url}/api/v1/live?ticket=${await ticketFor(main.url, world.tokens['enterprise-a'].secret)}`,
    );
    const streamAdmin = await openStream(
      `${main.url}/api/v1/live?ticket=${await ticketFor(main.url, world.tokens.admin.secret)}`,
    );
    const streamOther = await openStream(
      `${main.url}/api/v1/live?ticket=${await ticketFor(main.url, world.tokens['admin-other'].secret)}`,
    );
    await until(() => [streamA, streamAdmin, streamOther].every((s) => s.events.some((e) => e.event === 'hello')));
    await new Promise((r) => setTimeout(r, 250)); // first tick records what already existed
    const forA = await ingestNewAlert(A.id, A.sensor, A.province);
    const forB = await ingestNewAlert(B.id, B.sensor, B.province);
    await until(() => streamAdmin.alerts().length >= 2);
    await until(() => streamA.alerts().length >= 1);
    await new Promise((r) => setTimeout(r, 400));
    expect(streamA.alerts().map((a) => a.enterpriseId)).toEqual([A.id]);
    expect(streamA.events.find((e) => e.event === 'alert')?.data).toContain(forA);
    expect(streamA.events.some((e) => e.data.includes(forB) || e.data.includes(B.id))).toBe(false);
    expect(
      streamAdmin
        .alerts()
        .map((a) => a.enterpriseId)
        .sort(),
    ).toEqual([A.id, B.id].sort());
    // Another province's admin: nothing of zhejiang, ever.
    expect(streamOther.alerts()).toEqual([]);
    // The evidence event is not pushed (the page fetches it with the detail).
    expect(streamA.events.find((e) => e.event === 'alert')?.data).not.toContain('"event"');
    expect(streamA.events.filter((e) => e.event === 'ping').length).toBeGreaterThanOrEqual(1);
    const hub = main.app.web?.hub;
    expect(hub?.stats.open).toBe(3);
    await Promise.all([streamA.close(), streamAdmin.close(), streamOther.close()]);
    await until(() => hub?.stats.open === 0);
  });

  it('works across collector instances sharing one store', async () => {
    const second = await webApp();
    const s1 = await openStream(
      `${main.url}/api/v1/live?ticket=${await ticketFor(main.url, world.tokens.analyst.secret)}`,
    );
    const s2 = await openStream(
      `${second.url}/api/v1/live?ticket=${await ticketFor(second.url, world.tokens.analyst.secret)}`,
    );
    await until(() => s1.events.length > 0 && s2.events.length > 0);
    await new Promise((r) => setTimeout(r, 250));
    const id = await ingestNewAlert(A.id, A.sensor, A.province);
    await until(() => s1.alerts().length === 1 && s2.alerts().length === 1);
    expect(s1.alerts()[0]?.uid).toBe(s2.alerts()[0]?.uid);
    expect(s1.events.find((e) => e.event === 'alert')?.data).toContain(id);
    // A ticket is only good at the instance that issued it.
    const foreign = await ticketFor(main.url, world.tokens.analyst.secret);
    expect((await fetch(`${second.url}/api/v1/live?ticket=${foreign}`)).status).toBe(401);
    await Promise.all([s1.close(), s2.close()]);
  });

  it('resumes after the last uid a reconnecting page saw', async () => {
    const first = await ingestNewAlert(A.id, A.sensor, A.province);
    const stored = await ts.store.listAlerts({ kind: 'all' }, { enterpriseId: A.id }, { limit: 1 });
    const since = stored.items[0]?.uid ?? '';
    expect(stored.items[0]?.eventId).toBe(first);
    const missed = await ingestNewAlert(A.id, A.sensor, A.province);
    const s = await openStream(
      `${main.url}/api/v1/live?ticket=${await ticketFor(main.url, world.tokens['enterprise-a'].secret)}&since=${since}`,
    );
    await until(() => s.alerts().length >= 1);
    expect(s.events.filter((e) => e.event === 'alert').map((e) => JSON.parse(e.data).eventId)).toEqual([missed]);
    await s.close();
  });
});

describe('inside an app with the API request lifecycle', () => {
  it('is authorised by the API hooks (config.access) and still serves its public routes', async () => {
    // The hooks buildApi installs: authenticate on every request, authorise in preParsing, one error shape.
    const app = Fastify();
    app.decorateRequest('auth', null);
    app.decorateRequest('authFailure', null);
    app.setErrorHandler(handleError);
    app.addHook('onRequest', async (request) => {
      await authenticate(ts.store, request);
    });
    app.addHook('preParsing', async (request, _reply, payload) => {
      authorize(request);
      return payload;
    });
    await registerWeb(app, { store: ts.store });
    await app.ready();
    apps.push(app);
    const refused = await app.inject({ method: 'POST', url: '/api/v1/live/ticket' });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual({
      error: { code: 'unauthorized', message: 'missing Authorization: Bearer <token> header' },
    });
    const ok = await app.inject({
      method: 'POST',
      url: '/api/v1/live/ticket',
      headers: bearer(world.tokens.analyst.secret),
    });
    expect(ok.statusCode).toBe(200);
    expect(app.web?.tickets.stats.issued).toBe(1);
    expect((await app.inject({ method: 'GET', url: '/' })).statusCode).toBe(200);
    const noTicket = await app.inject({ method: 'GET', url: '/api/v1/live' });
    expect(noTicket.statusCode).toBe(401);
    expect(noTicket.json().error.code).toBe('invalid_ticket');
  });
});
