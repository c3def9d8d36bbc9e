/**
 * The contract between the pipeline and an application-protocol module (Modbus/TCP, S7comm, OPC UA, ...).
 *
 * The pipeline owns flows, TCP reassembly and detection; a module owns everything protocol-specific:
 * - `probe` says whether the first bytes of a stream are this protocol (payload first, port only as a hint);
 * - `createFlowApp` makes the per-flow state (stream parser + pairing) once the probe said yes;
 * - counters are per run (per file): cheap typed counters on the per-PDU path, turned into summary JSON at the end,
 *   keyed like the tshark `.truth.json` files (numeric codes as decimal-string keys, as there);
 * - events are built only when the run has an event sink (`ctx.events !== null`).
 */
import type { BatchLoan } from '../../protocols/core/batch-loan.ts';
import type { ByteBudget } from '../../protocols/core/byte-budget.ts';
import type { RuleHook } from '../alerts.ts';
import type { EventFactory } from '../event-factory.ts';
import type { Flow } from '../flow/flow.ts';

/** Per-flow protocol state: receives the reassembled byte stream of both directions. */
export interface FlowApp {
  /** Bytes in TCP direction `dir` (0 = client→server); a view valid only during the call. */
  data(dir: 0 | 1, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number): void;
  /** `bytes` were lost in direction `dir`: drop partial PDUs and resynchronise. */
  gap(dir: 0 | 1, bytes: number): void;
  /** Periodic sweep at packet time `tsSec`: expire open requests older than the module's timeout. */
  expire(tsSec: number): void;
  /**
   * The flow ended: flush (open requests become unanswered). `captureEnded`: because the input ended, not the
   * connection (open requests within the timeout then raise no anomaly).
   */
  end(tsSec: number, captureEnded: boolean): void;
}

export interface AppContext<Counters> {
  counters: Counters;
  /** Null when nobody wants events (counting only). */
  events: EventFactory | null;
  /** Detection rules: modules hand their transactions / anomalies to it (absent or null = no rules). */
  rules?: RuleHook | null;
  /** The pipeline's budget for reassembly buffers, shared by all flows (absent: each parser unlimited). */
  buffers?: ByteBudget;
  /** The batch buffer the pipeline lends while it processes a batch (absent: parsers copy what they keep). */
  loan?: BatchLoan;
}

export interface AppModule<Counters> {
  /** Protocol name as used in events (`proto`) and flow.appProto. */
  readonly name: string;
  /** TCP server ports registered for the protocol: a hint for the probe, never required. */
  readonly ports: readonly number[];
  /**
   * 1 = this is the protocol, 0 = it is not, 2 = need more bytes. `onRegisteredPort` lets a module accept odd but
   * well-framed traffic on its own port (as tshark does) while staying strict elsewhere. Must not allocate.
   */
  probe(buf: Uint8Array, off: number, len: number, onRegisteredPort: boolean): 0 | 1 | 2;
  createCounters(): Counters;
  createFlowApp(flow: Flow, ctx: AppContext<Counters>): FlowApp;
  /** Top-level summary sections this module contributes (e.g. `{cotp, s7comm, s7comm_plus}`). */
  summarise(counters: Counters): Record<string, unknown>;
  /** Adds `from` into `into` (totals over several files). */
  merge(into: Counters, from: Counters): void;
}
