/**
 * Test-only driver: runs a capture file through the real sensor front half (capture reader → link decoder → flow
 * table → TCP reassembly) into the S7 module alone (probe on the first bytes of each flow, then its FlowApp), and
 * returns the module's summary sections. Used until the pipeline registers modules, and afterwards to test the module
 * in isolation from the other protocols.
 */

import { LinkDecoder } from '../../../protocols/link/decode.ts';
import { DECODE_OK, PacketView } from '../../../protocols/link/packet-view.ts';
import type { SensorEvent } from '../../../protocols/wire/events.ts';
import type { AppModule, FlowApp } from '../../../sensor/apps/app.ts';
import { createS7Module, type S7Counters } from '../../../sensor/apps/s7-app.ts';
import { openCaptureFile } from '../../../sensor/capture/file-source.ts';
import { EventFactory } from '../../../sensor/event-factory.ts';
import type { Flow } from '../../../sensor/flow/flow.ts';
import { FlowTable } from '../../../sensor/flow/flow-table.ts';
import { TcpReassembler } from '../../../sensor/flow/tcp-reassembler.ts';

const UNDECIDED = 0;
const ACTIVE = 1;
const IGNORED = 2;

export interface DriveResult {
  summary: Record<string, unknown>;
  counters: S7Counters;
  events: SensorEvent[];
  flows: number;
}

export async function driveS7(
  path: string,
  opts: { events?: boolean; module?: AppModule<S7Counters> } = {},
): Promise<DriveResult> {
  const mod = opts.module ?? createS7Module();
  const counters = mod.createCounters();
  const events: SensorEvent[] = [];
  const factory = opts.events ? new EventFactory('test', { emit: (e) => events.push(e) }) : null;
  let s7Flows = 0;
  const flows = new FlowTable(undefined, {
    flowEnd: (flow, _reason, tsSec) => {
      if (flow.appState === ACTIVE) (flow.app as FlowApp).end(tsSec);
      flow.app = null;
    },
  });
  const onData = (flow: Flow, dir: 0 | 1, buf: Uint8Array, off: number, len: number, s: number, ns: number) => {
    if (flow.appState === UNDECIDED) {
      const onPort = mod.ports.includes(flow.serverPort) || mod.ports.includes(flow.clientPort);
      const v = mod.probe(buf, off, len, onPort);
      if (v === 1) {
        flow.appState = ACTIVE;
        flow.appProto = mod.name;
        flow.app = mod.createFlowApp(flow, { counters, events: factory });
        s7Flows++;
      } else if (v === 0) flow.appState = IGNORED;
      else return;
    }
    if (flow.appState === ACTIVE) (flow.app as FlowApp).data(dir, buf, off, len, s, ns);
  };
  const tcp = new TcpReassembler(flows, {
    data: onData,
    gap: (flow, dir, bytes) => {
      if (flow.appState === ACTIVE) (flow.app as FlowApp).gap(dir, bytes);
    },
  });
  const link = new LinkDecoder();
  const view = new PacketView();
  const source = await openCaptureFile(path);
  let last = 0;
  try {
    for await (const batch of source.batches()) {
      for (let i = 0; i < batch.count; i++) {
        const tsSec = batch.tsSec[i] ?? 0;
        const st = link.decode(
          batch.linkType[i] ?? 0,
          batch.data,
          batch.offset[i] ?? 0,
          batch.caplen[i] ?? 0,
          tsSec,
          view,
        );
        if (st !== DECODE_OK || view.ipProto !== 6) continue;
        last = tsSec;
        const flow = flows.lookup(view, tsSec, batch.tsNsec[i] ?? 0);
        tcp.handle(flow, flow.lastDir, view, tsSec, batch.tsNsec[i] ?? 0);
      }
    }
  } finally {
    await source.close();
  }
  flows.flush(last);
  return { summary: mod.summarise(counters), counters, events, flows: s7Flows };
}
