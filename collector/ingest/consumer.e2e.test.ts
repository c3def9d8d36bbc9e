/**
 * The ingest consumer against a real nats-server with messages at the wire's size limit and a store slower than the
 * stream: what a busy sensor uplink and a loaded collector look like. Pulling by message count asked the server for
 * gigabytes at once; while the handler was busy the client fell behind, the server cut it off as a slow consumer,
 * and ingest stalled until the client reconnected and the unacked messages were redelivered. Pulling by bytes keeps
 * what the server may have in flight bounded: the connection must never drop and every message arrives once.
 */
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageId, subjectFor } from '../../protocols/wire/messages.ts';
import { createStreams } from '../../tests/support/jetstream.ts';
import { type NatsServerHandle, startNatsServer } from '../../tests/support/nats-server.ts';
import { IngestConsumer, type IngestEnvelope } from './consumer.ts';

const identity = { province: 'gd', enterprise: 'e1', sensor: 's1' };
/** 120 messages of ~900 kB: about 108 MB, beyond the server's 64 MB per-client pending limit. */
const MESSAGES = 120;
const ITEMS_PER_MESSAGE = 400;

let nats: NatsServerHandle;

beforeAll(async () => {
  // A short write deadline makes the server give up on a lagging client quickly, as a loaded link would.
  nats = await startNatsServer({ config: 'max_payload: 1048576\nwrite_deadline: "2s"' });
  await createStreams(nats.url);
  const nc = await connect({ servers: nats.url });
  const js = jetstream(nc);
  for (let m = 1; m <= MESSAGES; m++) {
    const items = Array.from({ length: ITEMS_PER_MESSAGE }, (_, i) =>
      JSON.stringify({
        asset: {
          ip: `10.${m}.${Math.floor(i / 250)}.${i % 250}`,
          role: 'plc',
          firstSeen: '2026-11-24T00:00:00.000000Z',
          lastSeen: '2026-11-24T00:00:00.000000Z',
          identity: { vendor: 'x'.repeat(1800) },
        },
        changes: [],
      }),
    );
    const body = `{"v":1,"kind":"asset","province":"gd","enterprise":"e1","sensor":"s1","seq":${m},"sentAt":"2026-11-24T00:00:00.000Z","items":[${items.join(',')}]}`;
    await js.publish(subjectFor(identity, 'asset'), new TextEncoder().encode(body), {
      msgID: messageId(identity.sensor, m),
    });
  }
  await nc.close();
}, 120_000);

afterAll(async () => {
  await nats?.dispose();
});

describe('IngestConsumer with 1 MiB messages and a slow store', () => {
  it('keeps its connection and receives every message once', async () => {
    const nc: NatsConnection = await connect({ servers: nats.url, reconnectTimeWait: 500 });
    const statuses: string[] = [];
    void (async () => {
      for await (const s of nc.status()) statuses.push(s.type);
    })();
    const seen = new Map<number, number>();
    const consumer = new IngestConsumer(
      jetstream(nc),
      {
        async handleBatch(batch: IngestEnvelope[]) {
          for (const b of batch) seen.set(b.message.seq, (seen.get(b.message.seq) ?? 0) + 1);
          // The store is slower than the stream.
          await new Promise((resolve) => setTimeout(resolve, 150));
          return { refused: [] };
        },
      },
      { log: () => undefined },
    );
    await consumer.start();
    const deadline = Date.now() + 90_000;
    while (consumer.stats.accepted < MESSAGES && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await consumer.stop();
    await nc.close();

    expect(consumer.stats.accepted).toBe(MESSAGES);
    expect(consumer.stats.redelivered).toBe(0);
    expect(statuses.filter((s) => s === 'disconnect' || s === 'slowConsumer')).toEqual([]);
    expect(seen.size).toBe(MESSAGES);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  }, 120_000);
});
