import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyseFile } from './analyse-file.ts';
import type { PipelineOptions } from './pipeline.ts';

const PCAPS = resolve(import.meta.dirname, '../../shared/pcaps');

interface Run {
  events: string[];
  summary: unknown;
  /** Flows that ended while the run went on, and Modbus flows started: reuse happens when both are > 0. */
  ended: number;
  modbusFlows: number;
}

async function run(file: string, options: PipelineOptions): Promise<Run> {
  const events: string[] = [];
  const { pipeline, report } = await analyseFile(resolve(PCAPS, file), {
    ...options,
    events: { emit: (e) => events.push(JSON.stringify(e)) },
  });
  const f = pipeline.flows.stats;
  return {
    events,
    summary: { modbus: pipeline.modbus.toJSON(), flows: f, report },
    ended: f.evictedLru + f.endedClosed + f.endedIdle,
    modbusFlows: pipeline.stats.modbusFlows,
  };
}

describe('Modbus flow context pooling', () => {
  for (const file of ['zeek__modbusSmall.pcap', 'iti__ModbusTCP.pcap', 'quickdraw__modbus_test_data_part1.pcap']) {
    it(`${file}: reused contexts give the same events and counts as fresh ones`, async () => {
      // A two-flow table evicts constantly, so most Modbus flows start on a context another flow just released.
      const flows = { maxFlows: 2 };
      const fresh = await run(file, { flows, modbusContextPool: 0 });
      const pooled = await run(file, { flows });
      expect(fresh.events.length).toBeGreaterThan(0);
      expect(pooled.ended).toBeGreaterThan(0);
      expect(pooled.modbusFlows).toBeGreaterThan(2);
      expect(pooled.events).toEqual(fresh.events);
      expect(pooled.summary).toEqual(fresh.summary);
    });
  }

  it('rejects a negative pool size', async () => {
    await expect(analyseFile(resolve(PCAPS, 'zeek__modbusSmall.pcap'), { modbusContextPool: -1 })).rejects.toThrow(
      RangeError,
    );
  });
});
