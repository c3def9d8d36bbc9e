/**
 * InfluxMetrics against a real VictoriaMetrics speaking the InfluxDB v2 write API: values arrive as written, drill
 * messages never do, a dead server counts failures without throwing, and the pending cap drops and counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireMessage } from '../../protocols/wire/messages.ts';
import type { RiskScore } from '../store/types.ts';
import { InfluxMetrics } from './influx.ts';
import { startVictoriaMetrics, type VictoriaHandle } from './testing/victoria.ts';

let vm: VictoriaHandle;
beforeAll(async () => {
  vm = await startVictoriaMetrics();
}, 30_000);
afterAll(async () => {
  await vm?.dispose();
});

const id = { v: 1 as const, province: 'zj', enterprise: 'm-ent', sensor: 'm-s1', sentAt: new Date().toISOString() };
const t0 = Date.now() - 60_000;

function health(seq: number, packets: number, drops: number, offsetMs: number | null, drill = false): WireMessage {
  return {
    ...id,
    kind: 'health',
    seq,
    ...(drill ? { drill: true } : {}),
    items: [
      {
        ts: new Date(t0 + seq * 1000).toISOString(),
        uptimeSec: 10,
        versions: { sensor: '0.1.0', wire: 1, events: 1, node: process.version },
        capture: { source: 'live', name: 'eth1', packets, bytes: packets * 80, drops, kernelDrops: 0 },
        parse: {},
        flows: { active: 3, evicted: 0 },
        outbox: {
          depthMessages: 7,
          depthBytes: 700,
          capBytes: 1 << 20,
          dropped: {},
          droppedSinceLast: {},
          published: 1,
          acked: 1,
          retries: 0,
        },
        rules: { loaded: 1, alerts: 0 },
        clock: { offsetMs, rttMs: 1 },
      },
    ],
  };
}

function alerts(seq: number, levels: string[], drill = false): WireMessage {
  return {
    ...id,
    kind: 'alert',
    seq,
    ...(drill ? { drill: true } : {}),
    items: levels.map((level, i) => ({
      v: 1,
      kind: 'alert',
      id: `r@f:${seq}-${i}`,
      sensor: id.sensor,
      flow: 'f',
      ts: new Date(t0).toISOString(),
      tsNs: 0,
      client: { ip: '10.0.0.1', port: 1 },
      server: { ip: '10.0.0.2', port: 502 },
      proto: 'modbus',
      alert: { rule: { id: 'r', title: 'r', level, status: 'stable', tags: [] }, count: 1, matched: {} },
    })),
  } as WireMessage;
}

describe('InfluxMetrics → VictoriaMetrics', () => {
  it('writes health, traffic, alert rates and risk scores with the values given; drills never', async () => {
    const m = new InfluxMetrics({ url: vm.url, token: 't', org: 'o', bucket: 'b', flushIntervalMs: 200 });
    m.recordMessages([
      health(1, 1000, 2, 3.5),
      health(2, 2500, 4, -1.25),
      health(3, 999_999, 99, 0, true),
      {
        ...id,
        kind: 'stats',
        seq: 4,
        items: [
          {
            from: new Date(t0).toISOString(),
            to: new Date(t0 + 60_000).toISOString(),
            packets: 10,
            bytes: 100,
            protocols: { modbus: { pdus: 41, functions: {} }, s7comm: { pdus: 7, functions: {} } },
          },
        ],
      },
      alerts(5, ['high', 'high', 'low']),
      alerts(6, ['high', 'high', 'high', 'high'], true),
    ]);
    const score: RiskScore = {
      enterpriseId: 'm-ent',
      province: 'zj',
      score: 42.17,
      computedAt: new Date(t0).toISOString(),
      contributions: [
        { factor: 'alerts', points: 30.5, weight: 40, detail: '', detailZh: '', measure: 1, evidence: [] },
        {
          factor: 'vulnerable_firmware',
          points: 11.67,
          weight: 20,
          detail: '',
          detailZh: '',
          measure: 1,
          evidence: [],
        },
      ],
    };
    expect(m.recordRiskScores([score])).toBe(1);
    expect(m.recordRiskScores([score])).toBe(0);
    await m.flush();
    await m.close();
    expect(m.stats.writeFailures).toBe(0);
    expect(m.stats.linesWritten).toBe(m.stats.points);
    await vm.settle();

    const sel = '{enterprise="m-ent"}';
    const packets = await vm.query(`last_over_time(ot_sensor_health_packets${sel}[1h])`);
    expect(packets.map((r) => r.value)).toEqual([2500]);
    const drops = await vm.query(`max_over_time(ot_sensor_health_drops${sel}[1h])`);
    expect(drops.map((r) => r.value)).toEqual([4]);
    const offset = await vm.query(`last_over_time(ot_sensor_health_clock_offset_ms${sel}[1h])`);
    expect(offset.map((r) => r.value)).toEqual([-1.25]);
    const depth = await vm.query(`last_over_time(ot_sensor_health_outbox_depth_messages${sel}[1h])`);
    expect(depth.map((r) => r.value)).toEqual([7]);
    const traffic = await vm.query(`sum by (protocol) (sum_over_time(ot_traffic_pdus${sel}[1h]))`);
    expect(Object.fromEntries(traffic.map((r) => [r.metric.protocol, r.value]))).toEqual({ modbus: 41, s7comm: 7 });
    const rates = await vm.query(`sum by (level) (sum_over_time(ot_alerts_count${sel}[1h]))`);
    expect(Object.fromEntries(rates.map((r) => [r.metric.level, r.value]))).toEqual({ high: 2, low: 1 });
    const risk = await vm.query(`last_over_time(ot_risk_score_score${sel}[1h])`);
    expect(risk.map((r) => r.value)).toEqual([42.17]);
    const factor = await vm.query(`last_over_time(ot_risk_score_vulnerable_firmware${sel}[1h])`);
    expect(factor.map((r) => r.value)).toEqual([11.67]);
  }, 30_000);

  it('a server that is down: failures counted, lines lost counted, nothing thrown, recording stays synchronous', async () => {
    const m = new InfluxMetrics({
      url: 'http://127.0.0.1:9',
      token: 't',
      org: 'o',
      bucket: 'b',
      flushIntervalMs: 100,
      maxRetries: 1,
      timeoutMs: 1000,
    });
    const started = performance.now();
    m.recordMessages([health(1, 1, 0, 0), health(2, 2, 0, 0)]);
    expect(performance.now() - started).toBeLessThan(50);
    await m.flush();
    for (let i = 0; i < 100 && m.stats.linesLost < 2; i++) await new Promise((r) => setTimeout(r, 100));
    await m.close();
    expect(m.stats.writeFailures).toBeGreaterThanOrEqual(1);
    expect(m.stats.linesLost).toBe(2);
    expect(m.stats.linesWritten).toBe(0);
    expect(m.stats.lastError).not.toBeNull();
  }, 30_000);

  it('bounded: beyond maxPendingLines new points are dropped and counted', async () => {
    const m = new InfluxMetrics({
      url: 'http://127.0.0.1:9',
      token: 't',
      org: 'o',
      bucket: 'b',
      flushIntervalMs: 60_000,
      batchSize: 10_000,
      maxPendingLines: 5,
    });
    m.recordMessages(Array.from({ length: 8 }, (_, i) => health(i + 1, i, 0, 0)));
    expect(m.stats.points).toBe(5);
    expect(m.stats.pointsDropped).toBe(3);
    await m.close();
  }, 30_000);
});
