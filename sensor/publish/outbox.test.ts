import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageKind } from '../../protocols/wire/messages.ts';
import { Outbox } from './outbox.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'otwatch-outbox-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const body = (n: number) => (seq: number) => Buffer.from(JSON.stringify({ seq, pad: 'x'.repeat(n) }));

async function add(o: Outbox, kind: MessageKind, bytes = 100, items = 1) {
  return await o.append(kind, items, body(bytes));
}

describe('Outbox', () => {
  it('stores messages as files and recovers them, in order, after a restart', async () => {
    const dir = tempDir();
    const a = new Outbox({ dir, fsync: false });
    await add(a, 'alert', 100, 5);
    await add(a, 'asset', 100, 2);
    await add(a, 'health');
    expect(a.depth).toBe(3);
    const b = new Outbox({ dir });
    expect(b.stats().recovered).toBe(3);
    const taken = b.take(10);
    expect(taken.map((e) => [e.seq, e.kind, e.items])).toEqual([
      [1, 'alert', 5],
      [2, 'asset', 2],
      [3, 'health', 1],
    ]);
    // The body read back from disk is the body that was built with its seq.
    const first = taken[0];
    if (first === undefined) throw new Error('nothing taken');
    expect(JSON.parse(Buffer.from(await b.body(first)).toString()).seq).toBe(1);
    expect(b.peekSeq()).toBe(4);
  });

  it('deletes only acknowledged messages and never reuses a sequence number after draining', async () => {
    const dir = tempDir();
    const a = new Outbox({ dir });
    for (let i = 0; i < 4; i++) await add(a, 'alert');
    const taken = a.take(3);
    expect(a.take(3).map((e) => e.seq)).toEqual([4]); // in-flight ones are not handed out twice
    for (const e of taken) await a.ack(e);
    const last = taken[2];
    if (last === undefined) throw new Error('missing');
    a.release(last); // a release after the ack changes nothing
    expect(a.depth).toBe(1);
    const rest = a.stats();
    expect(rest.acked).toBe(3);
    const remaining = a.take(10);
    expect(remaining).toEqual([]); // seq 4 is still in flight
    const b = new Outbox({ dir });
    expect(b.depth).toBe(1);
    const e4 = b.take(1)[0];
    if (e4 === undefined) throw new Error('missing');
    await b.ack(e4);
    expect(readdirSync(dir).filter((n) => n.endsWith('.msg'))).toEqual([]);
    // Fully drained: the state file keeps the floor, so the next message is 5, not 1.
    const c = new Outbox({ dir });
    expect(c.depth).toBe(0);
    expect(c.peekSeq()).toBe(5);
  });

  it('drops stats, then health, then assets, oldest first, and never an alert for something less valuable', async () => {
    const dir = tempDir();
    // Each message ~130 bytes; room for 6.
    const o = new Outbox({ dir, maxBytes: 800 });
    const size = (await add(o, 'alert'))?.bytes ?? 0;
    expect(size).toBeGreaterThan(100);
    await add(o, 'stats');
    await add(o, 'asset');
    await add(o, 'health');
    await add(o, 'stats');
    await add(o, 'asset');
    expect(o.depth).toBe(6);
    // 7th (an alert): the oldest stats goes.
    await add(o, 'alert', 100, 3);
    let s = o.stats();
    expect(s.dropped.stats).toEqual({ messages: 1, items: 1 });
    // Two more alerts: the second stats, then the health report.
    await add(o, 'alert');
    await add(o, 'alert');
    s = o.stats();
    expect(s.dropped.stats.messages).toBe(2);
    expect(s.dropped.health.messages).toBe(1);
    expect(s.dropped.asset.messages).toBe(0);
    // A stats message cannot push out anything: it is the one dropped.
    expect(await add(o, 'stats')).toBeNull();
    expect(o.stats().dropped.stats.messages).toBe(3);
    // Alerts push out assets next, oldest first.
    await add(o, 'alert');
    const kinds = o.take(20).map((e) => e.kind);
    expect(kinds.filter((k) => k === 'asset')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'alert')).toHaveLength(5);
    expect(o.stats().depthBytes).toBeLessThanOrEqual(800);
    // Dropped files are gone from disk too.
    expect(readdirSync(dir).filter((n) => n.endsWith('.msg'))).toHaveLength(o.depth);
  });

  it('when only alerts are left, a new alert pushes out the oldest alert', async () => {
    const o = new Outbox({ dir: tempDir(), maxBytes: 300 });
    await add(o, 'alert', 100, 7);
    await add(o, 'alert');
    await add(o, 'alert');
    expect(o.stats().dropped.alert).toEqual({ messages: 1, items: 7 });
    expect(o.take(5).map((e) => e.seq)).toEqual([2, 3]);
  });

  it('a message larger than the whole outbox is dropped and counted', async () => {
    const o = new Outbox({ dir: tempDir(), maxBytes: 50 });
    expect(await add(o, 'alert', 100, 4)).toBeNull();
    expect(o.stats().dropped.alert).toEqual({ messages: 1, items: 4 });
  });

  it('moves half-written and foreign files aside on open', async () => {
    const dir = tempDir();
    const a = new Outbox({ dir });
    await add(a, 'alert');
    writeFileSync(join(dir, '.9.abcd.tmp'), '{"trunc');
    writeFileSync(join(dir, 'junk.txt'), 'x');
    const b = new Outbox({ dir });
    expect(b.depth).toBe(1);
    expect(b.stats().corrupt).toBe(2);
    expect(readdirSync(join(dir, 'corrupt')).sort()).toEqual(['.9.abcd.tmp', 'junk.txt']);
  });

  it('a failed disk write is counted as a drop, not thrown', async () => {
    const dir = tempDir();
    const o = new Outbox({ dir });
    rmSync(dir, { recursive: true });
    expect(await add(o, 'alert', 10, 2)).toBeNull();
    const s = o.stats();
    expect(s.writeErrors).toBe(1);
    expect(s.dropped.alert).toEqual({ messages: 1, items: 2 });
    expect(s.depthBytes).toBe(0);
  });

  it('keeps drop counts across a restart until a health report has told them', async () => {
    const dir = tempDir();
    const a = new Outbox({ dir, maxBytes: 300 });
    await add(a, 'stats', 100, 1);
    await add(a, 'alert', 100, 2);
    await add(a, 'alert', 100, 3); // pushes out the stats message
    expect(a.unreportedDrops().stats).toEqual({ messages: 1, items: 1 });
    const b = new Outbox({ dir, maxBytes: 300 });
    expect(b.stats().dropped.stats).toEqual({ messages: 1, items: 1 });
    const told = b.unreportedDrops();
    b.markReported(told);
    expect(b.unreportedDrops().stats).toEqual({ messages: 0, items: 0 });
    const c = new Outbox({ dir, maxBytes: 300 });
    expect(c.unreportedDrops().stats).toEqual({ messages: 0, items: 0 });
    expect(c.stats().dropped.stats).toEqual({ messages: 1, items: 1 });
    expect(c.peekSeq()).toBe(4);
  });

  it('a message still being written can be chosen as an overflow victim (concurrent appends)', async () => {
    const o = new Outbox({ dir: tempDir(), maxBytes: 300 });
    // Not awaited one by one: the asset is still being written when the alerts need its room.
    const results = await Promise.all([add(o, 'asset', 100, 9), add(o, 'alert', 100, 1), add(o, 'alert', 100, 1)]);
    expect(results[0]).toBeNull();
    expect(results.slice(1).every((r) => r !== null)).toBe(true);
    expect(o.stats().dropped.asset).toEqual({ messages: 1, items: 9 });
    expect(o.stats().dropped.alert.messages).toBe(0);
    expect(readdirSync(o.dir).filter((n) => n.endsWith('.msg'))).toHaveLength(2);
  });
});
