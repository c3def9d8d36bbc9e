/**
 * The sensor's disk-backed outbox: every sealed message (one batch of one kind) is written to its own file before it
 * is published, and the file is deleted only after JetStream acknowledged it. A sensor restarted on the same
 * directory resumes with what is left; the per-sensor sequence continues above anything it ever assigned, so a
 * message id (`<sensor>:<seq>`) is never reused for different content.
 *
 * Why one file per message: messages are batches (hundreds of alerts, up to ~900 KiB), so there are only tens of
 * files per second even at 50,000 alerts/s; a file is written to a temporary name and renamed, so after a crash it
 * is either complete or absent (no log-replay or torn-record handling needed); deletion of an acked message is an
 * unlink, in any order, as acks arrive.
 *
 * Bounded: `maxBytes` caps the bytes on disk. When a new message does not fit, older messages are dropped in the order
 * of MESSAGE_KINDS (stats, then health, then assets; alerts last; oldest first within a kind), never one of a more
 * valuable kind than the message being added: if only more valuable ones are left, the new message is the one
 * dropped. Every drop is counted per kind (messages and items) for the next health report.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MESSAGE_KINDS, type MessageKind } from '../../protocols/wire/messages.ts';

export interface OutboxOptions {
  dir: string;
  /** Bytes of messages kept on disk (default 256 MiB). */
  maxBytes?: number;
  /** fsync each message before it counts as stored (default true: survives power loss, not only a crash). */
  fsync?: boolean;
  /** Bodies of messages kept in memory too, so publishing needs no read back (default 32 MiB). */
  memoryBytes?: number;
}

export const DEFAULT_OUTBOX_BYTES = 256 * 1024 * 1024;

/** One stored message. */
export interface OutboxEntry {
  seq: number;
  kind: MessageKind;
  bytes: number;
  items: number;
  /** Body held in memory (null: read it from its file). */
  body: Uint8Array | null;
  /** Being published now (not to be handed out again until it is acked or released). */
  inFlight: boolean;
  /** Dropped while in flight: its ack, if one comes, deletes nothing. */
  dropped: boolean;
  /** Its file is still being written (not to be published yet). */
  writing: boolean;
  /** JetStream acknowledged it (its body is no longer needed by anyone). */
  acked?: boolean;
}

export interface DropCount {
  messages: number;
  items: number;
}

export interface OutboxStats {
  depthMessages: number;
  depthBytes: number;
  maxBytes: number;
  appended: number;
  acked: number;
  /** Files found on open that were not complete messages (moved aside to `corrupt/`). */
  corrupt: number;
  /** Messages recovered from the directory when it was opened. */
  recovered: number;
  /** Messages that could not be written (disk full, directory gone); also counted in `dropped`. */
  writeErrors: number;
  dropped: Record<MessageKind, DropCount>;
}

const FILE_RE = /^(\d{1,16})\.(stats|health|asset|alert)\.(\d{1,10})\.msg$/;
const STATE_FILE = 'state.json';

function zeroDrops(): Record<MessageKind, DropCount> {
  return Object.fromEntries(MESSAGE_KINDS.map((k) => [k, { messages: 0, items: 0 }])) as Record<MessageKind, DropCount>;
}

export class Outbox {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly fsync: boolean;
  private readonly memoryBytes: number;
  /** Entries in sequence order (Map keeps insertion order; seqs are appended increasing). */
  private readonly entries = new Map<number, OutboxEntry>();
  private nextSeq: number;
  /** Highest seq recorded in the state file (the floor for the next start). */
  private persistedSeq: number;
  private bytes = 0;
  private memory = 0;
  private readonly stats_ = {
    appended: 0,
    acked: 0,
    corrupt: 0,
    recovered: 0,
    writeErrors: 0,
    dropped: zeroDrops(),
  };
  /** Message of the latest failed write (for the health report; no message content in it). */
  lastWriteError: string | null = null;
  /**
   * Called with a message body the outbox held in memory once nothing will read it again (acked, dropped, or not
   * cached): the publisher reuses the buffer. Never called for a body that is being published.
   */
  recycle: ((body: Uint8Array) => void) | null = null;
  /** Drop counts already told in a health report. */
  private reported = zeroDrops();

  /** Opens (creating) the outbox directory and recovers the messages left in it. */
  constructor(options: OutboxOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? DEFAULT_OUTBOX_BYTES;
    if (!(this.maxBytes > 0)) throw new RangeError('outbox maxBytes must be positive');
    this.fsync = options.fsync ?? true;
    this.memoryBytes = options.memoryBytes ?? 32 * 1024 * 1024;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    let maxSeq = 0;
    try {
      const state = JSON.parse(readFileSync(join(this.dir, STATE_FILE), 'utf8')) as {
        lastSeq?: unknown;
        dropped?: unknown;
        reported?: unknown;
      };
      if (typeof state.lastSeq === 'number' && Number.isSafeInteger(state.lastSeq)) maxSeq = state.lastSeq;
      // Drop counts survive restarts: a drop is reported in the next health message even across a crash.
      this.stats_.dropped = readDrops(state.dropped);
      this.reported = readDrops(state.reported);
    } catch {
      // no state yet (or unreadable): the message files alone give the floor
    }
    const found: OutboxEntry[] = [];
    for (const name of readdirSync(this.dir)) {
      if (name === STATE_FILE || name === 'corrupt') continue;
      const m = FILE_RE.exec(name);
      const path = join(this.dir, name);
      if (m === null) {
        // Temporary files of a write the crash interrupted, or foreign files: keep them out of the way.
        this.quarantine(name);
        continue;
      }
      const seq = Number(m[1]);
      const bytes = statSync(path).size;
      found.push({
        seq,
        kind: m[2] as MessageKind,
        bytes,
        items: Number(m[3]),
        body: null,
        inFlight: false,
        dropped: false,
        writing: false,
      });
      if (seq > maxSeq) maxSeq = seq;
    }
    found.sort((a, b) => a.seq - b.seq);
    for (const e of found) {
      this.entries.set(e.seq, e);
      this.bytes += e.bytes;
    }
    this.stats_.recovered = found.length;
    this.nextSeq = maxSeq + 1;
    this.persistedSeq = maxSeq;
  }

  /** The sequence number the next message will carry. */
  peekSeq(): number {
    return this.nextSeq;
  }

  /**
   * Stores a sealed message under the next sequence number, which `build` puts inside the body. Returns the entry,
   * or null when the message was dropped (everything left is more valuable, or the disk write failed).
   */
  async append(kind: MessageKind, items: number, build: (seq: number) => Uint8Array): Promise<OutboxEntry | null> {
    const seq = this.nextSeq++;
    const body = build(seq);
    if (!this.makeRoom(kind, body.byteLength)) {
      this.countDrop(kind, items);
      return null;
    }
    const entry: OutboxEntry = {
      seq,
      kind,
      bytes: body.byteLength,
      items,
      body: null,
      inFlight: false,
      dropped: false,
      writing: true,
    };
    // Visible at once (its bytes count, and it can be chosen as an overflow victim while it is being written), but
    // not handed to the publisher before its file is complete.
    this.entries.set(seq, entry);
    this.bytes += entry.bytes;
    const tmp = join(this.dir, `.${seq}.${randomBytes(4).toString('hex')}.tmp`);
    const path = join(this.dir, fileName(entry));
    try {
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(body);
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
    } catch (err) {
      // Disk full or gone: the message cannot be kept. Counted as dropped (and as a write error), never thrown into
      // the packet path.
      rmSync(tmp, { force: true });
      this.stats_.writeErrors++;
      this.lastWriteError = (err as Error).message;
      if (!entry.dropped) {
        this.forget(entry);
        entry.dropped = true;
        this.countDrop(kind, items);
      }
      return null;
    }
    entry.writing = false;
    if (entry.dropped) {
      // Overflow chose it while it was being written: it is already counted; only the file is left to remove.
      rmSync(path, { force: true });
      return null;
    }
    if (this.memory + entry.bytes <= this.memoryBytes) {
      entry.body = body;
      this.memory += entry.bytes;
    } else {
      this.recycle?.(body);
    }
    this.stats_.appended++;
    return entry;
  }

  /** Oldest messages not being published, up to `max`, marked in flight. */
  take(max: number): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    if (max <= 0) return out;
    for (const e of this.entries.values()) {
      if (e.inFlight || e.writing) continue;
      e.inFlight = true;
      out.push(e);
      if (out.length >= max) break;
    }
    return out;
  }

  /** Number of stored messages not in flight. */
  pending(): number {
    let n = 0;
    for (const e of this.entries.values()) if (!e.inFlight && !e.writing) n++;
    return n;
  }

  async body(entry: OutboxEntry): Promise<Uint8Array> {
    return entry.body ?? (await readFile(join(this.dir, fileName(entry))));
  }

  /** A publish failed: the message goes back to the queue. */
  release(entry: OutboxEntry): void {
    entry.inFlight = false;
  }

  /** JetStream acknowledged the message: delete it. */
  async ack(entry: OutboxEntry): Promise<void> {
    if (entry.dropped || !this.entries.has(entry.seq)) return;
    entry.acked = true;
    this.forget(entry);
    this.stats_.acked++;
    // Before the file of the highest sequence ever assigned disappears, the state file records it: after a restart
    // the sequence must continue above it, or new messages would reuse ids JetStream still remembers as duplicates.
    // If that write fails the file stays: re-sent after a restart, it is deduplicated, never a reused id.
    if (entry.seq > this.persistedSeq && !this.writeStateSync()) return;
    await unlink(join(this.dir, fileName(entry))).catch(() => undefined);
  }

  get depth(): number {
    return this.entries.size;
  }

  stats(): OutboxStats {
    return {
      depthMessages: this.entries.size,
      depthBytes: this.bytes,
      maxBytes: this.maxBytes,
      appended: this.stats_.appended,
      acked: this.stats_.acked,
      corrupt: this.stats_.corrupt,
      recovered: this.stats_.recovered,
      writeErrors: this.stats_.writeErrors,
      dropped: structuredClone(this.stats_.dropped),
    };
  }

  /**
   * Drops older, less (or equally) valuable messages until `bytes` more fit. False when they cannot be made to fit
   * without dropping something more valuable than `kind` (then nothing is dropped).
   */
  private makeRoom(kind: MessageKind, bytes: number): boolean {
    if (bytes > this.maxBytes) return false;
    if (this.bytes + bytes <= this.maxBytes) return true;
    const rank = MESSAGE_KINDS.indexOf(kind);
    const victims: OutboxEntry[] = [];
    let freed = 0;
    const need = this.bytes + bytes - this.maxBytes;
    for (let r = 0; r <= rank && freed < need; r++) {
      const victimKind = MESSAGE_KINDS[r];
      for (const e of this.entries.values()) {
        if (e.kind !== victimKind) continue;
        victims.push(e);
        freed += e.bytes;
        if (freed >= need) break;
      }
    }
    if (freed < need) return false;
    for (const e of victims) this.drop(e);
    return true;
  }

  private drop(entry: OutboxEntry): void {
    this.forget(entry);
    entry.dropped = true;
    // countDrop writes the state with the current floor: it must cover a dropped message too, or a restart could
    // reuse its id inside the dedupe window.
    this.countDrop(entry.kind, entry.items);
    rmSync(join(this.dir, fileName(entry)), { force: true });
  }

  private forget(entry: OutboxEntry): void {
    this.entries.delete(entry.seq);
    this.bytes -= entry.bytes;
    if (entry.body !== null) {
      this.memory -= entry.bytes;
      this.recycleIdle(entry);
      entry.body = null;
    }
  }

  /** A body being published may still be on its way to the socket: only an idle or acked one is reused. */
  private recycleIdle(entry: OutboxEntry): void {
    if (entry.body !== null && (!entry.inFlight || entry.acked)) this.recycle?.(entry.body);
  }

  private countDrop(kind: MessageKind, items: number): void {
    const d = this.stats_.dropped[kind];
    d.messages++;
    d.items += items;
    this.writeStateSync();
  }

  /** A message dropped before it reached the outbox (the publisher's disk backlog): counted with the outbox's own. */
  noteDropped(kind: MessageKind, items: number): void {
    this.countDrop(kind, items);
  }

  /** Drops not yet told in a health report (per kind); `markReported` once the report is sealed. */
  unreportedDrops(): Record<MessageKind, DropCount> {
    const out = zeroDrops();
    for (const k of MESSAGE_KINDS) {
      out[k].messages = this.stats_.dropped[k].messages - this.reported[k].messages;
      out[k].items = this.stats_.dropped[k].items - this.reported[k].items;
    }
    return out;
  }

  markReported(drops: Record<MessageKind, DropCount>): void {
    for (const k of MESSAGE_KINDS) {
      this.reported[k].messages += drops[k].messages;
      this.reported[k].items += drops[k].items;
    }
    this.writeStateSync();
  }

  /**
   * The one writer of `state.json` (sequence floor, drop counts), synchronous so two writes can never interleave
   * and an older snapshot never lands over a newer one. It is small and rare: drops, health reports, and the ack of
   * the newest message. False when it could not be written (directory gone or full); the next write tries again.
   */
  private writeStateSync(): boolean {
    const floor = this.nextSeq - 1;
    const tmp = join(this.dir, `.state.${randomBytes(4).toString('hex')}.tmp`);
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, this.stateText(floor));
        if (this.fsync) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, join(this.dir, STATE_FILE));
      if (floor > this.persistedSeq) this.persistedSeq = floor;
      return true;
    } catch {
      rmSync(tmp, { force: true });
      return false;
    }
  }

  private stateText(floor: number): string {
    return JSON.stringify({ lastSeq: floor, dropped: this.stats_.dropped, reported: this.reported });
  }

  private quarantine(name: string): void {
    const corrupt = join(this.dir, 'corrupt');
    mkdirSync(corrupt, { recursive: true, mode: 0o700 });
    try {
      renameSync(join(this.dir, name), join(corrupt, name));
    } catch {
      rmSync(join(this.dir, name), { force: true, recursive: true });
    }
    this.stats_.corrupt++;
  }
}

function fileName(e: { seq: number; kind: MessageKind; items: number }): string {
  return `${e.seq}.${e.kind}.${e.items}.msg`;
}

function readDrops(v: unknown): Record<MessageKind, DropCount> {
  const out = zeroDrops();
  if (typeof v !== 'object' || v === null) return out;
  for (const k of MESSAGE_KINDS) {
    const d = (v as Record<string, { messages?: unknown; items?: unknown }>)[k];
    if (typeof d?.messages === 'number' && Number.isSafeInteger(d.messages)) out[k].messages = d.messages;
    if (typeof d?.items === 'number' && Number.isSafeInteger(d.items)) out[k].items = d.items;
  }
  return out;
}
