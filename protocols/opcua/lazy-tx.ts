/**
 * The reused transaction record of the OPC UA parser when bodies are decoded on demand (`lazyBodies`): `request` and
 * `response` decode the first time something reads them. With rules only (no events), most transactions are never
 * read past their service id, so decoding every body (timestamps to ISO strings, node ids to strings) was most of
 * the cost of a loaded OPC UA rule.
 *
 * The request's bytes are copied into the parser's pending slot (its chunk buffer is gone by the time the response
 * arrives); the response's are read in place: the record is only valid during the synchronous `transaction` call.
 */
import { type Decoded, decodeServiceBody } from './decode.ts';
import type { OpcuaTransaction, OpcuaTransactionKind, OpcuaTransactionReason } from './types.ts';

const EMPTY = new Uint8Array(0);

/** Body bytes of one message, decoded at most once. */
export class LazyBody {
  serviceId = -1;
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;
  /** `value` is current (decoded, or set directly). */
  done = true;
  value: Decoded | null = null;

  /** Points at bytes to decode on first read (they must stay valid until then). */
  point(serviceId: number, buf: Uint8Array, off: number, len: number): void {
    this.serviceId = serviceId;
    this.buf = buf;
    this.off = off;
    this.len = len;
    this.done = false;
    this.value = null;
  }

  set(v: Decoded | null): void {
    this.done = true;
    this.value = v;
    this.buf = EMPTY;
  }

  get(): Decoded | null {
    if (!this.done) {
      this.done = true;
      this.value = decodeServiceBody(this.serviceId, this.buf, this.off, this.len);
      this.buf = EMPTY;
    }
    return this.value;
  }
}

export class LazyTransaction implements OpcuaTransaction {
  kind: OpcuaTransactionKind = 'paired';
  reason: OpcuaTransactionReason = 'response';
  requestId = 0;
  requestServiceId = -1;
  requestServiceName = '';
  responseServiceId = -1;
  responseServiceName = '';
  serviceResult = -1;
  serviceResultName = '';
  requestTsSec = -1;
  requestTsNsec = -1;
  responseTsSec = -1;
  responseTsNsec = -1;
  rttNs = -1;
  readonly req = new LazyBody();
  readonly resp = new LazyBody();

  get request(): Decoded | null {
    return this.req.get();
  }
  set request(v: Decoded | null) {
    this.req.set(v);
  }
  get response(): Decoded | null {
    return this.resp.get();
  }
  set response(v: Decoded | null) {
    this.resp.set(v);
  }
}
