/**
 * LiveHub against a store whose alert list we control (the uid clock in particular), to pin down the delivery
 * rules: only alerts newer than the stream's start, each once, late inserts from an instance whose clock is behind
 * within the look-back window, a reload signal when a tick overflows, and clean-up when the client goes away.
 */

import type { ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { AuthContext } from '../api/auth.ts';
import type { AlertFilter, CollectorStore, Page, PageResult, Scope, StoredAlert } from '../store/types.ts';
import { LiveHub, uidTimeMs } from './live.ts';

/** A UUIDv7 with the given millisecond time (as another instance's clock would stamp it). */
let counter = 0;
function uuidv7(ms: number): string {
  const hex = Math.floor(ms).toString(16).padStart(12, '0');
  const rand = (counter++).toString(16).padStart(15, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rand.slice(0, 3)}-8${rand.slice(3, 6)}-${rand.slice(6, 15).padStart(12, '0')}`;
}

function alert(uid: string, enterpriseId: string): StoredAlert {
  return {
    uid,
    eventId: `ot.s7.plc_stop@f:${uid}`,
    enterpriseId,
    sensorId: `${enterpriseId}-s1`,
    province: 'gd',
    ts: '2016-02-08T22:08:09.937630Z',
    receivedAt: new Date().toISOString(),
    ruleId: 'ot.s7.plc_stop',
    ruleTitle: 'S7 PLC stop',
    level: 'critical',
    tags: ['attack.t0881'],
    protocol: 's7comm',
    clientIp: '10.0.0.1',
    serverIp: '10.0.0.2',
    serverPort: 102,
    count: 1,
    drill: false,
    event: {} as StoredAlert['event'],
    resolution: null,
  };
}

/** Newest first by uid, scoped like the real store, paged by cursor = last uid. */
class AlertList {
  rows: StoredAlert[] = [];
  listTokens: () => Promise<{ id: string; revokedAt: string | null }[]> = async () => [
    { id: 'tok-a', revokedAt: null },
  ];
  add(a: StoredAlert) {
    this.rows.push(a);
    this.rows.sort((x, y) => (x.uid < y.uid ? 1 : -1));
  }
  asStore(): CollectorStore {
    return {
      listAlerts: async (scope: Scope, _f: AlertFilter, page: Page): Promise<PageResult<StoredAlert>> => {
        const visible = this.rows.filter(
          (a) => scope.kind !== 'enterprises' || scope.enterprises.includes(a.enterpriseId),
        );
        const start = page.cursor ? visible.findIndex((a) => a.uid < (page.cursor ?? '')) : 0;
        const items = start < 0 ? [] : visible.slice(start, start + (page.limit ?? 100));
        const more = start >= 0 && start + items.length < visible.length;
        return { items, nextCursor: more ? (items.at(-1)?.uid ?? null) : null };
      },
      listTokens: () => this.listTokens(),
    } as unknown as CollectorStore;
  }
}

function auth(enterprises: string[], id = 'tok-a'): AuthContext {
  return {
    token: { id, label: 't', role: 'assessor', province: null, enterprises, createdAt: '', revokedAt: null },
    scope: { kind: 'enterprises', enterprises },
  };
}

/** A ServerResponse stand-in that records what the hub writes. */
function response() {
  const sink = new PassThrough();
  let text = '';
  let status = 0;
  sink.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  const res = Object.assign(sink, {
    writeHead(code: number) {
      status = code;
      return res;
    },
  });
  return {
    res: res as unknown as ServerResponse,
    events: () =>
      text
        .split('\n\n')
        .filter((b) => b.includes('event: '))
        .map((b) => ({ event: /event: (\w+)/.exec(b)?.[1] ?? '', data: /data: (.*)/.exec(b)?.[1] ?? '' })),
    alerts: () =>
      text
        .split('\n\n')
        .filter((b) => b.includes('event: alert'))
        .map((b) => (JSON.parse(/data: (.*)/.exec(b)?.[1] ?? '{}') as { uid: string }).uid),
    status: () => status,
    close: () => sink.destroy(),
  };
}

describe('LiveHub', () => {
  it('sends only alerts inserted after the stream opened, each once, within the scope', async () => {
    const list = new AlertList();
    let now = Date.now();
    const hub = new LiveHub(list.asStore(), { now: () => now });
    const before = uuidv7(now - 1000);
    list.add(alert(before, 'a'));
    const r = response();
    expect(hub.open(auth(['a']), r.res)).toBe(true);
    expect(r.status()).toBe(200);
    expect(r.events()[0]?.event).toBe('hello');
    now += 10;
    const mine = uuidv7(now);
    const other = uuidv7(now + 1);
    list.add(alert(mine, 'a'));
    list.add(alert(other, 'b'));
    await hub.tick();
    await hub.tick();
    expect(r.alerts()).toEqual([mine]);
    hub.close();
  });

  it('delivers a late insert from an instance whose clock is behind (within the look-back), once', async () => {
    const list = new AlertList();
    let now = Date.now();
    const hub = new LiveHub(list.asStore(), { now: () => now, lookbackMs: 5000 });
    const r = response();
    hub.open(auth(['a']), r.res);
    await hub.tick();
    now += 3000;
    const first = uuidv7(now);
    list.add(alert(first, 'a'));
    await hub.tick();
    // Another collector instance, its clock 2 s behind ours, inserts an alert now.
    const late = uuidv7(now - 2000);
    expect(uidTimeMs(late)).toBeLessThan(uidTimeMs(first));
    list.add(alert(late, 'a'));
    await hub.tick();
    await hub.tick();
    expect(r.alerts()).toEqual([first, late]);
    hub.close();
  });

  it('resumes after `since` and tells the page to reload when a tick overflows', async () => {
    const list = new AlertList();
    const now = Date.now();
    const hub = new LiveHub(list.asStore(), { now: () => now, maxPerPoll: 250 });
    const since = uuidv7(now - 60_000);
    list.add(alert(since, 'a'));
    for (let i = 0; i < 600; i++) list.add(alert(uuidv7(now - 50_000 + i), 'a'));
    const r = response();
    hub.open(auth(['a']), r.res, since);
    await hub.tick();
    expect(r.alerts().length).toBeGreaterThanOrEqual(250);
    expect(r.alerts().length).toBeLessThan(600);
    expect(r.events().some((e) => e.event === 'reload')).toBe(true);
    expect(hub.stats.truncated).toBe(1);
    hub.close();
  });

  it('refuses streams beyond maxStreams and forgets a stream when its client goes away', async () => {
    const list = new AlertList();
    const hub = new LiveHub(list.asStore(), { maxStreams: 1 });
    const r1 = response();
    const r2 = response();
    expect(hub.open(auth(['a']), r1.res)).toBe(true);
    expect(hub.open(auth(['a']), r2.res)).toBe(false);
    expect(hub.stats).toMatchObject({ open: 1, refused: 1 });
    r1.close();
    await new Promise((r) => setImmediate(r));
    expect(hub.stats).toMatchObject({ open: 0, closed: 1 });
    hub.close();
  });

  it('ends the streams of a revoked token', async () => {
    const list = new AlertList();
    const hub = new LiveHub(list.asStore(), { revocationCheckMs: 20 });
    const r = response();
    hub.open(auth(['a']), r.res);
    list.listTokens = async () => [{ id: 'tok-a', revokedAt: new Date().toISOString() }];
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(r.events().some((e) => e.event === 'revoked')).toBe(true);
    expect(hub.stats).toMatchObject({ open: 0, revokedClosed: 1 });
    hub.close();
  });

  it('sends heartbeats', async () => {
    const hub = new LiveHub(new AlertList().asStore(), { heartbeatMs: 20 });
    const r = response();
    hub.open(auth(['a']), r.res);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(r.events().filter((e) => e.event === 'ping').length).toBeGreaterThanOrEqual(2);
    hub.close();
  });
});
