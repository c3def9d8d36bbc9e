/**
 * `otsensor read --retime`: moves packet times so that the run's last packet is "now" (by whole seconds: the
 * spacing between packets is kept exactly). A drill replays a capture recorded in the past; without this its alerts
 * carry the recording's times, and the collector's time-window rules (risk warnings over the last hour, today's
 * counts) never see them. Moving the end, not the start, to now keeps every alert in the past: the replayed attack
 * "has just happened", however long the capture, and no alert is stamped later than the collector's clock. Events
 * and alerts then show the shifted times (the CLI prints the shift on stderr).
 */
import { openCaptureFile } from './file-source.ts';
import { CaptureError, type PacketBatch } from './source.ts';

export class Retimer {
  /** `shiftSec`: whole seconds added to every packet time. */
  constructor(readonly shiftSec: number) {}

  /** The shift that moves `lastTsSec` to at most `nowSec`. */
  static endingAt(lastTsSec: number, nowSec: number): Retimer {
    return new Retimer(Math.floor(nowSec) - Math.ceil(lastTsSec));
  }

  /** Shifts the batch's times in place (the batch is the source's, refilled for the next one). */
  apply(batch: PacketBatch): void {
    const ts = batch.tsSec;
    const shift = this.shiftSec;
    for (let i = 0; i < batch.count; i++) ts[i] = (ts[i] ?? 0) + shift;
  }
}

/**
 * The latest packet time (seconds) in `files`, read ahead of the run; null when none has a packet. A file that
 * cannot be read is skipped here: the run itself reports it.
 */
export async function latestPacketTime(files: readonly string[]): Promise<number | null> {
  let latest: number | null = null;
  for (const file of files) {
    try {
      const source = await openCaptureFile(file);
      try {
        for await (const batch of source.batches()) {
          for (let i = 0; i < batch.count; i++) {
            const t = (batch.tsSec[i] ?? 0) + (batch.tsNsec[i] ?? 0) / 1e9;
            if (latest === null || t > latest) latest = t;
          }
        }
      } finally {
        await source.close();
      }
    } catch (err) {
      if (!(err instanceof CaptureError)) throw err;
    }
  }
  return latest;
}
