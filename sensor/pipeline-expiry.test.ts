/**
 * Modbus transaction timeouts through the pipeline. The pipeline skips its periodic sweep of every live Modbus
 * context when no open request can be due yet (a bound kept from the last sweep and the packet times since); these
 * cases check that unanswered requests still time out at the sweep that would have expired them, including one
 * stamped with a time earlier than everything open at the last sweep (capture clocks step back). At the end of the
 * input, a request still open on a live connection is not an anomaly (capture_end); on a closed one it is (flow_end).
 */
import { describe, expect, it } from 'vitest';
import { LINKTYPE_RAW } from '../protocols/core/link-types.ts';
import { BatchPacker, type TestPacket } from '../tests/support/batches.ts';
import { buildModbusAdu, buildTcpPacket, wrapIp } from '../tests/support/frames.ts';
import { CollectingSink } from '../tests/support/run-pipeline.ts';
import { Pipeline } from './pipeline.ts';

const PSH_ACK = 0x18;
const FIN_ACK = 0x11;
const SERVER = 0x0a000001;
const READ_ONE = new Uint8Array([0x00, 0x00, 0x00, 0x01]);
const ONE_REGISTER = new Uint8Array([0x02, 0x00, 0x07]);

/** One TCP direction of a Modbus connection, keeping its sequence numbers. */
class Side {
  private seq = 1;
  constructor(
    private readonly src: number,
    private readonly dst: number,
    private readonly sport: number,
    private readonly dport: number,
  ) {}

  packet(tid: number, data: Uint8Array, tsSec: number): TestPacket {
    const payload = buildModbusAdu(tid, 1, 3, data);
    const p = this.segment(PSH_ACK, 1, payload, tsSec);
    this.seq += payload.length;
    return p;
  }

  fin(tsSec: number): TestPacket {
    const p = this.segment(FIN_ACK, 2, new Uint8Array(0), tsSec);
    this.seq += 1; // the FIN takes one sequence number
    return p;
  }

  private segment(flags: number, ack: number, payload: Uint8Array, tsSec: number): TestPacket {
    const { src, dst, sport, dport, seq } = this;
    const ip = buildTcpPacket({ src, dst, sport, dport, seq, ack, flags, payload });
    return { data: wrapIp(ip, LINKTYPE_RAW), linkType: LINKTYPE_RAW, tsSec, tsNsec: 0 };
  }
}

/** Answered request/response pairs of a busy connection at time `tsSec` (2 packets per pair). */
function filler(client: Side, server: Side, pairs: number, tsSec: number, tid0: number): TestPacket[] {
  const out: TestPacket[] = [];
  for (let i = 0; i < pairs; i++) {
    const tid = (tid0 + i) & 0xffff;
    out.push(client.packet(tid, READ_ONE, tsSec), server.packet(tid, ONE_REGISTER, tsSec));
  }
  return out;
}

describe('Modbus transaction expiry in the pipeline', () => {
  it('times out unanswered requests at the sweeps, also one stamped earlier than the last sweep saw', () => {
    const busyClient = new Side(0x0a000003, SERVER, 40001, 502);
    const busyServer = new Side(SERVER, 0x0a000003, 502, 40001);
    const silentA = new Side(0x0a000002, SERVER, 40000, 502);
    const silentC = new Side(0x0a000004, SERVER, 40002, 502);
    const packets: TestPacket[] = [
      silentA.packet(1, READ_ONE, 1000), // never answered
      ...filler(busyClient, busyServer, 2100, 1005, 0), // sweep at packet 4096: nothing due yet (timeout 15 s)
      ...filler(busyClient, busyServer, 2100, 1020, 2100), // sweep at packet 8192: A is 20 s old
      silentC.packet(1, READ_ONE, 990), // the clock stepped back: older than anything seen at the last sweep
      ...filler(busyClient, busyServer, 2100, 1020, 4200), // sweep at packet 12288: C is 30 s old
    ];
    const sink = new CollectingSink();
    const pipeline = new Pipeline({ events: sink });
    for (const batch of new BatchPacker(256, 64 * 1024).batches(packets)) pipeline.processBatch(batch);
    const unanswered = sink.events
      .filter((e) => e.kind === 'modbus.transaction')
      .map((e) => e as unknown as { modbus: { kind: string; reason: string }; client: { ip: string } })
      .filter((e) => e.modbus.kind === 'unanswered')
      .map((e) => [e.client.ip, e.modbus.reason]);
    // Both before the end of the input: by the sweeps, not by flow end.
    expect(unanswered).toEqual([
      ['10.0.0.2', 'timeout'],
      ['10.0.0.4', 'timeout'],
    ]);
    pipeline.finish();
    expect(pipeline.modbus.transactions).toBe(6300 + 2);
    expect(pipeline.modbus.anomalies.get('modbus.request_unanswered')).toBe(2);
  });

  it('at the end of the input: a request on a live connection is capture_end, on a closed one flow_end', () => {
    const live = new Side(0x0a000002, SERVER, 40000, 502);
    const closedClient = new Side(0x0a000003, SERVER, 40001, 502);
    const closedServer = new Side(SERVER, 0x0a000003, 502, 40001);
    const packets: TestPacket[] = [
      live.packet(1, READ_ONE, 1000),
      closedClient.packet(1, READ_ONE, 1000),
      closedClient.fin(1001),
      closedServer.fin(1001),
    ];
    const sink = new CollectingSink();
    const pipeline = new Pipeline({ events: sink });
    for (const batch of new BatchPacker(256, 64 * 1024).batches(packets)) pipeline.processBatch(batch);
    pipeline.finish();
    const unanswered = sink.events
      .filter((e) => e.kind === 'modbus.transaction')
      .map((e) => e as unknown as { modbus: { kind: string; reason: string }; client: { ip: string } })
      .map((e) => [e.client.ip, e.modbus.kind, e.modbus.reason]);
    expect(unanswered.sort()).toEqual([
      ['10.0.0.2', 'unanswered', 'capture_end'],
      ['10.0.0.3', 'unanswered', 'flow_end'],
    ]);
    expect(pipeline.modbus.anomalies.get('modbus.request_unanswered')).toBe(1);
  });
});
