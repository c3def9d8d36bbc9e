/** Records the OPC UA stream parser hands to its listener (reused between calls: copy what you keep). */
import type { BatchLoan } from '../core/batch-loan.ts';
import type { ByteBudget } from '../core/byte-budget.ts';
import type { TransactionReason } from '../core/transaction.ts';
import type { Decoded } from './decode.ts';

export type OpcuaDir = 0 | 1;

/** Security of the secure channel as far as the wire shows it. */
export const SECURITY_UNKNOWN = 0;
export const SECURITY_NONE = 1;
/** A policy other than None: OPN bodies are asymmetrically encrypted, MSG bodies are encrypted unless mode Sign. */
export const SECURITY_SECURED = 2;

/** One UACP chunk (each is a "message" for tshark); `complete` when it ends a message. */
export interface OpcuaChunk {
  dir: OpcuaDir;
  /** MT_* from constants.ts and its 3-letter name. */
  msgType: number;
  typeName: string;
  /** 'F' | 'C' | 'A' as a char code. */
  chunkType: number;
  size: number;
  /** -1 for HEL/ACK/ERR/RHE. */
  secureChannelId: number;
  /** Symmetric token id (MSG/CLO), else -1. */
  tokenId: number;
  /** -1 when not visible (encrypted or not a secure-conversation chunk). */
  sequenceNumber: number;
  requestId: number;
  /** Service NodeId (ns=0 numeric) of a complete message, -1 when not visible. */
  serviceId: number;
  serviceName: string;
  /** The body could not be read: the channel encrypts it (or, mid-stream, it does not decode as a service). */
  encrypted: boolean;
  /** This chunk ends a message (final chunk, or a single-chunk message). */
  complete: boolean;
  /** Abort chunk: the sender abandoned the message. */
  aborted: boolean;
  /** Chunks that made up the message (when complete). */
  chunkCount: number;
  /** Only the first bytes of an oversized chunk were kept (counted, not decoded). */
  headerOnly: boolean;
  /** The whole chunk, from its 8-byte header (`len` ≤ size when headerOnly). */
  buf: Uint8Array;
  off: number;
  len: number;
  /** The service body after the service NodeId (reassembled for multi-chunk messages), when readable. */
  bodyBuf: Uint8Array;
  bodyOff: number;
  bodyLen: number;
  /** Security state of the connection after this chunk (SECURITY_*). */
  security: number;
  tsSec: number;
  tsNsec: number;
}

export type OpcuaTransactionKind = 'paired' | 'unanswered' | 'unsolicited';
/** Why the transaction was emitted (protocols/core/transaction.ts). */
export type OpcuaTransactionReason = TransactionReason;

export interface OpcuaTransaction {
  kind: OpcuaTransactionKind;
  reason: OpcuaTransactionReason;
  requestId: number;
  requestServiceId: number;
  requestServiceName: string;
  /** -1 when unanswered. */
  responseServiceId: number;
  responseServiceName: string;
  /** ResponseHeader.ServiceResult, -1 when there is no response or it was cut short. */
  serviceResult: number;
  serviceResultName: string;
  requestTsSec: number;
  requestTsNsec: number;
  responseTsSec: number;
  responseTsNsec: number;
  rttNs: number;
  /** Decoded bodies when the parser decodes (events wanted). */
  request: Decoded | null;
  response: Decoded | null;
}

export type OpcuaAnomalyKind =
  | 'invalid_header'
  | 'invalid_buffer_size'
  | 'chunk_exceeds_buffer'
  | 'message_too_large'
  | 'too_many_chunks'
  | 'interleaved_chunks'
  | 'message_aborted'
  | 'malformed_security_header'
  | 'unsolicited_response'
  | 'request_unanswered'
  | 'too_many_open_requests'
  | 'oversized_chunk';

export interface OpcuaAnomaly {
  kind: OpcuaAnomalyKind;
  dir: OpcuaDir;
  tsSec: number;
  tsNsec: number;
  requestId: number;
  serviceId: number;
  value: number;
  detail: string;
}

export interface OpcuaParserOptions {
  /** Largest chunk accepted as framing (default 16 MiB); larger sizes are framing errors. */
  maxChunkSize?: number;
  /** Bytes buffered for one chunk split over segments (default 1 MiB); larger chunks are counted header-only. */
  maxBufferedChunk?: number;
  /** Largest reassembled multi-chunk message (default 4 MiB). */
  maxMessageSize?: number;
  /** Most chunks in one message (default 512). */
  maxChunkCount?: number;
  /** Open requests kept for pairing (default 1024); the oldest is evicted beyond. */
  maxOpenRequests?: number;
  /** Seconds before an open request counts as unanswered (default 60; Publish requests wait long). */
  requestTimeoutSec?: number;
  /** Decode service bodies into transactions (default true; the pipeline turns it off when counting only). */
  decode?: boolean;
  /**
   * With `decode`: decode a transaction's bodies only when `request` / `response` is first read, during the
   * `transaction` callback (default false). Request bodies are copied into the pending request's pooled slot.
   */
  lazyBodies?: boolean;
  /**
   * Budget shared with other flows' parsers for the chunk and message buffers (core/byte-budget.ts; default: this
   * parser's own, unlimited). A chunk or message whose buffer would not fit is handled as one too large to buffer.
   */
  budget?: ByteBudget;
  /**
   * With `lazyBodies`: the pipeline's lent batch buffer (core/batch-loan.ts). A request body that lies in it is kept
   * by reference until the batch ends, and copied then only if its response has not come yet.
   */
  loan?: BatchLoan;
}

export interface OpcuaParserStats {
  bytes: number;
  chunks: number;
  messages: number;
  encrypted: number;
  intermediateChunks: number;
  reassembled: number;
  aborted: number;
  reassemblyDropped: number;
  headerOnly: number;
  requests: number;
  responses: number;
  transactions: number;
  paired: number;
  unanswered: number;
  unsolicited: number;
  evicted: number;
  openRequests: number;
  maxOpenRequests: number;
  anomalies: number;
  desyncs: number;
  resyncs: number;
  skippedBytes: number;
  gaps: number;
  gapBytes: number;
  noProgress: number;
}
