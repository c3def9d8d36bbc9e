/**
 * Why a protocol parser emitted a transaction: the reasons Modbus, S7comm and OPC UA share (S7 adds `push`).
 * - `response`: paired with its response;
 * - `timeout`: no response within the protocol's timeout (packet time);
 * - `flow_end`: the connection ended (FIN, RST, idle, evicted flow) with the request still open;
 * - `capture_end`: the input ended (end of file, live capture stopped) with the request still open on a live
 *   connection and younger than the timeout: it may well have been answered after the sensor stopped looking, so
 *   unlike `timeout` and `flow_end` it raises no `request_unanswered` anomaly;
 * - `evicted`: pushed out by the per-connection cap of open requests;
 * - `superseded`: a new request reused its id;
 * - `unsolicited`: a response that matched no open request.
 */
export type TransactionReason =
  | 'response'
  | 'timeout'
  | 'flow_end'
  | 'capture_end'
  | 'evicted'
  | 'superseded'
  | 'unsolicited';
