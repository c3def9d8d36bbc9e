/**
 * Sequential byte inputs for the chunked capture reader: a plain file read with `FileHandle.read` straight into
 * the caller's buffer, or a gzip file decompressed on the fly by a streamed `createGunzip` whose output chunks are
 * copied into the caller's buffer. Neither ever holds the whole file in memory.
 */
import type { FileHandle } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

export interface ByteInput {
  /** Reads up to `length` bytes into `into[at...]`; resolves 0 only at the end of the input. */
  read(into: Uint8Array, at: number, length: number): Promise<number>;
  close(): Promise<void>;
}

export class FileByteInput implements ByteInput {
  private readonly handle: FileHandle;
  private closed = false;

  constructor(handle: FileHandle) {
    this.handle = handle;
  }

  async read(into: Uint8Array, at: number, length: number): Promise<number> {
    // position null: read from the current file position, which the handle advances for us.
    const { bytesRead } = await this.handle.read(into, at, length, null);
    return bytesRead;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** Compressed bytes are read in pieces of this size; decompressed output arrives in chunks of GUNZIP_CHUNK. */
const COMPRESSED_READ_CHUNK = 256 * 1024;
const GUNZIP_CHUNK = 256 * 1024;

export class GzipByteInput implements ByteInput {
  private readonly handle: FileHandle;
  private readonly raw: Readable;
  private readonly gunzip: ReturnType<typeof createGunzip>;
  private readonly chunks: AsyncIterator<Buffer>;
  /** The decompressed chunk being copied out and how far into it we are. */
  private pending: Buffer | null = null;
  private pendingPos = 0;
  private ended = false;
  private closed = false;

  constructor(handle: FileHandle) {
    this.handle = handle;
    this.raw = handle.createReadStream({ start: 0, autoClose: false, highWaterMark: COMPRESSED_READ_CHUNK });
    this.gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
    // pipeline forwards a read error of the file to the gunzip stream, so the iterator below sees every failure.
    pipeline(this.raw, this.gunzip, () => {});
    this.chunks = this.gunzip[Symbol.asyncIterator]();
  }

  async read(into: Uint8Array, at: number, length: number): Promise<number> {
    let copied = 0;
    while (copied < length) {
      if (this.pending === null || this.pendingPos >= this.pending.length) {
        // Return what we have rather than wait for more: the caller asks again if it needs more.
        if (copied > 0 || this.ended) break;
        const next = await this.chunks.next();
        if (next.done === true) {
          this.ended = true;
          break;
        }
        this.pending = next.value;
        this.pendingPos = 0;
      }
      const chunk = this.pending;
      const take = Math.min(length - copied, chunk.length - this.pendingPos);
      into.set(chunk.subarray(this.pendingPos, this.pendingPos + take), at + copied);
      this.pendingPos += take;
      copied += take;
    }
    return copied;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending = null;
    // Destroying the read stream closes the handle itself, deferred until an in-flight read finishes; a direct
    // handle.close() would then resolve early with the descriptor still open. So wait for the stream's 'close'.
    const rawClosed = this.raw.closed ? Promise.resolve() : new Promise((resolve) => this.raw.once('close', resolve));
    this.gunzip.destroy();
    this.raw.destroy();
    await rawClosed;
    await this.handle.close();
  }
}
