/**
 * Requests in the last `windowSec` seconds of packet time, as a ring of `slots` fixed buckets (a sliding window with
 * bucket granularity: constant memory, no per-event allocation). The learner records the highest count it ever saw
 * (the learned peak); the checker compares the live count with that peak. Both use this class, so "per minute" means
 * the same thing when learning and enforcing.
 */
export class RateWindow {
  private readonly counts: Uint32Array;
  private readonly bucketSec: number;
  /** Absolute bucket number of the newest bucket, -1 before the first event. */
  private head = -1;
  private sum = 0;

  constructor(
    readonly windowSec = 60,
    private readonly slots = 12,
  ) {
    this.counts = new Uint32Array(slots);
    this.bucketSec = windowSec / slots;
  }

  /** Counts one request at `timeSec` and returns the number of requests now in the window. */
  add(timeSec: number): number {
    const bucket = Math.floor(timeSec / this.bucketSec);
    if (this.head < 0) {
      this.head = bucket;
    } else if (bucket > this.head) {
      // Clear the buckets that slid out of the window (all of them after a long silence).
      const steps = Math.min(bucket - this.head, this.slots);
      for (let k = 1; k <= steps; k++) {
        const slot = (this.head + k) % this.slots;
        this.sum -= this.counts[slot] ?? 0;
        this.counts[slot] = 0;
      }
      this.head = bucket;
    }
    // A slightly late event (bucket < head, e.g. reordered across flows) counts in the newest bucket.
    const slot = this.head % this.slots;
    this.counts[slot] = (this.counts[slot] ?? 0) + 1;
    this.sum++;
    return this.sum;
  }
}
