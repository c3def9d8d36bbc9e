import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertBatch } from '../../protocols/wire/messages.ts';
import { validateMessage } from '../../protocols/wire/validate.ts';
import { Outbox } from './outbox.ts';
import { Publisher } from './publisher.ts';
import type { ClockSample, JetStreamTransport, PublishResult } from './transport.ts';

/** In-process stand-in for JetStream (unit tests only): records what was published, can fail or hold acks. */
class FakeTransport implements JetStreamTransport {
  readonly stored = new Map<string, { subject: string; body: Uint8Array }>();
  failNext = 0;
  hold = false;
  maxConcurrent = 0;
  private concurrent = 0;
  private held: (() => void)[] = [];

  async publish(subject: string, body: Uint8Array, msgId: string): Promise<PublishResult> {
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    try {
      if (this.hold) await new Promise<void>((r) => this.held.push(r));
      if (this.failNext > 0) {
        this.failNext--;
        throw new Error('simulated outage');
      }
      const duplicate = this.stored.has(msgId);
      if (!duplicate) this.stored.set(msgId, { subject, body });
      return { duplicate };
    } finally {
      this.concurrent--;
    }
  }
  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }
  async clock(): Promise<ClockSample | null> {
    return null;
  }
  connected(): boolean {
    return true;
  }
  async close(): Promise<void> {}
}

const identity = { province: 'gd', enterprise: 'e1', sensor: 's1' };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function outbox(maxBytes?: number): Outbox {
  const dir = mkdtempSync(join(tmpdir(), 'otwatch-pub-'));
  dirs.push(dir);
  return new Outbox({ dir, fsync: false, ...(maxBytes !== undefined ? { maxBytes } : {}) });
}

function alert(i: number) {
  return {
    v: 1,
    kind: 'alert',
    id: `f1:${i}:alert`,
    sensor: 's1',
    flow: 'f1',
    ts: '2026-11-24T00:00:00.000000Z',
    tsNs: 0,
    client: { ip: '10.0.0.1', port: 40000 },
    server: { ip: '10.0.0.2', port: 502 },
    proto: 'modbus',
    alert: {
      rule: { id: 'ot.test', title: 'Test', level: 'high', status: 'stable', tags: ['attack.t0836'] },
      count: 1,
      matched: { func: 6 },
    },
  };
}

function decode(body: Uint8Array): AlertBatch {
  return JSON.parse(Buffer.from(body).toString()) as AlertBatch;
}

describe('Publisher', () => {
  it('batches items into valid messages with increasing sequence numbers and dedupe ids', async () => {
    const t = new FakeTransport();
    const p = new Publisher({ identity, outbox: outbox(), transport: t, maxItems: 1000 });
    for (let i = 0; i < 2500; i++) p.add('alert', alert(i));
    expect(await p.drain(5000)).toBe(true);
    await p.stop();
    expect([...t.stored.keys()].sort()).toEqual(['s1:1', 's1:2', 's1:3']);
    const ids: string[] = [];
    for (const [, m] of t.stored) {
      const check = validateMessage(m.subject, m.body);
      expect(check.ok, check.ok ? '' : check.detail).toBe(true);
      expect(m.subject).toBe('ot.v1.gd.e1.s1.alert');
      for (const item of decode(m.body).items) ids.push(item.id);
    }
    expect(ids).toHaveLength(2500);
    expect(new Set(ids).size).toBe(2500);
    expect(p.stats().acked).toBe(3);
  });

  it('keeps messages in the outbox through failures and retries them until acknowledged', async () => {
    const t = new FakeTransport();
    t.failNext = 5;
    const box = outbox();
    const p = new Publisher({ identity, outbox: box, transport: t, maxItems: 10, retryMinMs: 5, retryMaxMs: 20 });
    for (let i = 0; i < 50; i++) p.add('alert', alert(i));
    expect(await p.drain(5000)).toBe(true);
    await p.stop();
    expect(p.stats().retries).toBe(5);
    expect(t.stored.size).toBe(5);
    expect(box.depth).toBe(0);
  });

  it('never has more than `window` messages unacknowledged', async () => {
    const t = new FakeTransport();
    t.hold = true;
    const p = new Publisher({ identity, outbox: outbox(), transport: t, maxItems: 1, window: 4 });
    for (let i = 0; i < 20; i++) p.add('alert', alert(i));
    p.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(p.stats().inFlight).toBe(4);
    t.release();
    const drained = p.drain(5000);
    // Later sends are not held: release lets everything through.
    setTimeout(() => t.release(), 20);
    expect(await drained).toBe(true);
    await p.stop();
    expect(t.maxConcurrent).toBeLessThanOrEqual(4);
    expect(t.stored.size).toBe(20);
  });

  it('seals a lingering batch without more input', async () => {
    const t = new FakeTransport();
    const p = new Publisher({ identity, outbox: outbox(), transport: t, lingerMs: 30 });
    p.add('alert', alert(1));
    await new Promise((r) => setTimeout(r, 300));
    expect(t.stored.size).toBe(1);
    await p.stop();
  });

  it('refuses an item larger than a message may be, counting it', async () => {
    const t = new FakeTransport();
    const p = new Publisher({ identity, outbox: outbox(), transport: t, maxMessageBytes: 2000 });
    p.add('alert', { ...alert(1), pad: 'x'.repeat(5000) });
    p.add('alert', alert(2));
    expect(await p.drain(2000)).toBe(true);
    await p.stop();
    expect(p.stats().oversized.alert).toBe(1);
    expect(p.stats().items.alert).toBe(1);
    expect(t.stored.size).toBe(1);
  });

  it('splits by bytes before the message limit', async () => {
    const t = new FakeTransport();
    const p = new Publisher({ identity, outbox: outbox(), transport: t, maxMessageBytes: 4000, maxItems: 10_000 });
    for (let i = 0; i < 100; i++) p.add('alert', alert(i));
    expect(await p.drain(2000)).toBe(true);
    await p.stop();
    expect(t.stored.size).toBeGreaterThan(5);
    for (const [, m] of t.stored) expect(m.body.byteLength).toBeLessThanOrEqual(4000);
  });

  it('marks drill traffic in every message', async () => {
    const t = new FakeTransport();
    const p = new Publisher({ identity, outbox: outbox(), transport: t, drill: true });
    p.add('alert', alert(1));
    expect(await p.drain(2000)).toBe(true);
    await p.stop();
    const [m] = [...t.stored.values()];
    if (m === undefined) throw new Error('nothing published');
    expect(decode(m.body).drill).toBe(true);
    expect(validateMessage(m.subject, m.body).ok).toBe(true);
  });

  it('publishes what a previous run left in the outbox first', async () => {
    const box = outbox();
    const down = new FakeTransport();
    down.failNext = Number.POSITIVE_INFINITY;
    const first = new Publisher({ identity, outbox: box, transport: down, retryMinMs: 1000 });
    for (let i = 0; i < 3; i++) first.add('alert', alert(i));
    expect(await first.drain(100)).toBe(false);
    await first.stop();
    expect(box.depth).toBe(1);
    const reopened = new Outbox({ dir: box.dir, fsync: false });
    const up = new FakeTransport();
    const second = new Publisher({ identity, outbox: reopened, transport: up });
    expect(await second.drain(2000)).toBe(true);
    await second.stop();
    expect([...up.stored.keys()]).toEqual(['s1:1']);
  });
});
