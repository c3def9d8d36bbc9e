/**
 * Test helpers around a real nats-server's JetStream: create the project's stream layout, and read back every
 * message stored in it (subject, headers, decoded JSON) to compare with what a sensor should have sent.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ItemOf, WireMessage } from '../../protocols/wire/messages.ts';
import { ensureStreams, STREAM_NAME } from '../../protocols/wire/streams.ts';

export async function withConnection<T>(url: string, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

export async function createStreams(url: string): Promise<void> {
  await withConnection(url, async (nc) => {
    await ensureStreams(await jetstreamManager(nc));
  });
}

export interface StoredMessage {
  seq: number;
  subject: string;
  msgId: string | null;
  data: Uint8Array;
  json: WireMessage | null;
}

/**
 * Every message in the stream, in the order the sensor sealed them (its `seq`; the stream's own order differs,
 * since the sensor has many messages in flight at once). Messages without a readable seq come last.
 */
export async function readStream(url: string): Promise<StoredMessage[]> {
  return await withConnection(url, async (nc) => {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(STREAM_NAME);
    const out: StoredMessage[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(STREAM_NAME, { seq }).catch(() => null);
      if (m === null) continue;
      let json: WireMessage | null = null;
      try {
        json = JSON.parse(new TextDecoder().decode(m.data)) as WireMessage;
      } catch {
        json = null;
      }
      out.push({ seq: m.seq, subject: m.subject, msgId: m.header?.get('Nats-Msg-Id') ?? null, data: m.data, json });
    }
    const key = (m: StoredMessage) => (typeof m.json?.seq === 'number' ? m.json.seq : Number.MAX_SAFE_INTEGER);
    return out.sort((a, b) => key(a) - key(b) || a.seq - b.seq);
  });
}

/** Items of one kind across stored messages. */
export function itemsOf<K extends keyof ItemOf>(messages: StoredMessage[], kind: K): ItemOf[K][] {
  const out: ItemOf[K][] = [];
  for (const m of messages) if (m.json?.kind === kind) out.push(...(m.json.items as ItemOf[K][]));
  return out;
}
