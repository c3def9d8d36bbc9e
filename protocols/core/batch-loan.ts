/**
 * Bytes a parser may keep by reference, instead of copying them at once, for as long as the capture batch they
 * came in is being processed.
 *
 * Why: a parser that pairs requests with responses must keep each request's bytes until its answer arrives (the OPC
 * UA parser keeps the body so rules and alert evidence can decode it on first read). Copying every request costs a
 * view object and a copy per request, most of them wasted: the answer usually comes a few packets later, in the same
 * batch, while the request's bytes are still intact in the batch buffer. So the pipeline lends the batch buffer
 * (`current`) while it processes a batch; a parser that keeps a reference into it registers once (`borrow`), and
 * when the batch ends (`end`) every borrower copies what it still holds, before the source can reuse the buffer.
 *
 * Only the batch buffer itself is lent: bytes in any other buffer (TCP reassembly, a parser's own carry buffer, a
 * probe's held bytes) can change within the batch and are copied at once, as before. Outside a batch `current` is
 * null, so nothing is lent. No I/O; one instance per pipeline.
 */

/** A parser holding references into the lent buffer. */
export interface BatchBorrower {
  /** The batch ends: copy every byte still referenced into the parser's own storage, and drop the references. */
  returnBorrowed(): void;
}

export class BatchLoan {
  /** The buffer of the batch being processed; null between batches (nothing may be borrowed then). */
  current: Uint8Array | null = null;
  private readonly borrowers: BatchBorrower[] = [];
  /** Batches that ended with at least one borrower (for tests and diagnostics). */
  returns = 0;

  /** Registers `b` for this batch's end (the caller registers once per batch). */
  borrow(b: BatchBorrower): void {
    this.borrowers.push(b);
  }

  /** Starts lending `data` (the batch's buffer). */
  begin(data: Uint8Array): void {
    this.current = data;
  }

  /** Ends the batch: stops lending and has every borrower copy what it kept. */
  end(): void {
    this.current = null;
    const list = this.borrowers;
    if (list.length === 0) return;
    this.returns++;
    for (let i = 0; i < list.length; i++) (list[i] as BatchBorrower).returnBorrowed();
    list.length = 0;
  }
}
