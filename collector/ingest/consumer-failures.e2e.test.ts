/**
 * The ingest consumer when the store fails, against a real nats-server: a message the store cannot take must not
 * keep its batch (and itself) coming back for ever, and a store that is down must not lose anything.
 */
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { messageId, subjectFor } from '../../protocols/wire/messages.ts';
import { createStreams } from '../../tests/support/jetstream.ts';
import { type NatsServerHandle, startNatsServer } from '../../tests/support/nats-server.ts';
import { IngestConsumer, type IngestEnvelope } from './consumer.ts';

const identity = { province: 'gd', enterprise: 'e1', sensor: 's1' };
const MESSAGES = 20;
const POISON_SEQ = 7;

let nats: NatsServerHandle;

beforeEach(async () => {
  nats = await startNatsServer();
  await createStreams(nats.url);
  const nc = await connect({ servers: nats.url });
  const js = jetstream(nc);
  for (let seq = 1; seq <= MESSAGES; seq++) {
    const item = {
      asset: {
        ip: `10.0.0.${seq}`,
        role: 'plc',
        firstSeen: '2026-11-24T00:00:00.000000Z',
        lastSeen: '2026-11-24T00:00:00.000000Z',
        identity: {},
      },
      changes: [],
    };
    const body = { v: 1, kind: 'asset', ...identity, seq, sentAt: '2026-11-24T00:00:00.000Z', items: [item] };
    await js.publish(subjectFor(identity, 'asset'), new TextEncoder().encode(JSON.stringify(body)), {
      msgID: messageId(identity.sensor, seq),
    });
  }
  await nc.close();
});

afterEach(async () => {
  await nats?.dispose();
});

/** Runs a consumer over the stream with `handleBatch` until `done()` or 20 s; returns its stats and log. */
async function run(
  handleBatch: (batch: IngestEnvelope[]) => Promise<{ refused: number[] }>,
  done: (c: IngestConsumer) => boolean,
) {
  const nc = await connect({ servers: nats.url });
  const log: string[] = [];
  const consumer = new IngestConsumer(jetstream(nc), { handleBatch }, { retryDelayMs: 50, log: (l) => log.push(l) });
  await consumer.start();
  const deadline = Date.now() + 20_000;
  while (!done(consumer) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // A little longer: nothing more may arrive once done.
  await new Promise((r) => setTimeout(r, 500));
  await consumer.stop();
  await nc.close();
  return { stats: consumer.stats, log };
}

describe('IngestConsumer when the store fails', () => {
  it('stores the rest of a batch, and terminates a message the working store keeps failing', async () => {
    const stored = new Map<number, number>();
    const poisonAttempts: number[] = [];
    const { stats, log } = await run(
      async (batch) => {
        const seqs = batch.map((b) => b.message.seq);
        if (seqs.includes(POISON_SEQ)) {
          poisonAttempts.push(seqs.length);
          throw new Error('value out of range for type integer');
        }
        for (const s of seqs) stored.set(s, (stored.get(s) ?? 0) + 1);
        return { refused: [] };
      },
      (c) => c.stats.accepted + c.stats.rejected.store_rejected >= MESSAGES,
    );
    expect(stats.accepted).toBe(MESSAGES - 1);
    expect(stats.rejected.store_rejected).toBe(1);
    expect([...stored.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: MESSAGES }, (_, i) => i + 1).filter((s) => s !== POISON_SEQ),
    );
    expect([...stored.values()].every((n) => n === 1)).toBe(true);
    // Tried in its batch, then alone on each of its three deliveries; then no more.
    expect(poisonAttempts.filter((n) => n === 1)).toHaveLength(3);
    expect(log.some((l) => l.includes('store_rejected') && l.includes('value out of range'))).toBe(true);
  }, 30_000);

  it('loses nothing while the store is down, and terminates nothing', async () => {
    const stored = new Set<number>();
    const upAt = Date.now() + 1500;
    let failures = 0;
    const { stats } = await run(
      async (batch) => {
        if (Date.now() < upAt) {
          failures++;
          throw new Error('connection refused');
        }
        for (const b of batch) stored.add(b.message.seq);
        return { refused: [] };
      },
      (c) => c.stats.accepted >= MESSAGES,
    );
    expect(failures).toBeGreaterThan(MESSAGES);
    expect(stats.accepted).toBe(MESSAGES);
    expect(stats.rejected.store_rejected).toBe(0);
    expect(stored.size).toBe(MESSAGES);
  }, 30_000);
});
