/** Public entry point of the flow layer: the flow table, flows, and TCP reassembly. */

export type { FlowState } from './flow.ts';
export { FLOW_ACTIVE, FLOW_CLOSED, FLOW_CLOSING, Flow } from './flow.ts';
export { dstPortIsServer, ICS_SERVER_PORTS, isServerPort, packetIsClientToServer } from './flow-key.ts';
export type { FlowEndHook, FlowEndReason, FlowListener, FlowTableOptions } from './flow-table.ts';
export { FlowTable, FlowTableStats } from './flow-table.ts';
export type { StreamSink, TcpReassemblerOptions } from './tcp-reassembler.ts';
export { TcpReassembler, TcpReassemblerStats } from './tcp-reassembler.ts';
export { TcpStream } from './tcp-stream.ts';
