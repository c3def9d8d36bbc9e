/**
 * The sensor against our own real-peer captures: for each NAME.expected.json (counted from the client's own log,
 * never from our decoder), run the whole Pipeline over NAME.pcap with no configuration and compare PDUs, requests,
 * responses, per-function requests and responses, exceptions and unit ids. One capture uses port 5020 and one
 * 1502, so Modbus detection by payload (not by port) is exercised too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ModbusTransactionEvent, SensorEvent } from '../../protocols/wire/events.ts';
import { runCaptureThroughPipeline } from '../support/run-pipeline.ts';

interface Expected {
  pcap: string;
  port: number;
  requests: number;
  responses: number;
  requests_by_fc: Record<string, number>;
  responses_by_fc: Record<string, number>;
  exceptions_by_fc: Record<string, number>;
  exceptions_by_code: Record<string, number>;
  requests_by_unit: Record<string, number>;
  unit_ids: number[];
  total_pdus: number;
  unanswered_requests: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const expectations = readdirSync(here)
  .filter((f) => f.endsWith('.expected.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(here, f), 'utf8')) as Expected);

function inc(counts: Record<string, number>, key: number): void {
  counts[String(key)] = (counts[String(key)] ?? 0) + 1;
}

/** Sums several per-code tables (func_codes in the summary count both directions). */
function addCounts(...tables: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of tables) for (const [k, n] of Object.entries(t)) out[k] = (out[k] ?? 0) + n;
  return out;
}

function isTransaction(e: SensorEvent): e is ModbusTransactionEvent {
  return e.kind === 'modbus.transaction';
}

/** What the emitted transaction events say, counted the way the client log is. */
function countTransactions(events: readonly SensorEvent[]) {
  const c = {
    requests: 0,
    responses: 0,
    requests_by_fc: {} as Record<string, number>,
    responses_by_fc: {} as Record<string, number>,
    exceptions_by_fc: {} as Record<string, number>,
    exceptions_by_code: {} as Record<string, number>,
    requests_by_unit: {} as Record<string, number>,
    kinds: {} as Record<string, number>,
  };
  for (const e of events.filter(isTransaction)) {
    const m = e.modbus as { kind: string; func: number; unit: number; exceptionCode?: number };
    c.kinds[m.kind] = (c.kinds[m.kind] ?? 0) + 1;
    if (m.kind !== 'unsolicited') {
      c.requests++;
      inc(c.requests_by_fc, m.func);
      inc(c.requests_by_unit, m.unit);
    }
    if (m.kind === 'unanswered') continue;
    c.responses++;
    if (m.exceptionCode !== undefined) {
      inc(c.exceptions_by_fc, m.func);
      inc(c.exceptions_by_code, m.exceptionCode);
    } else {
      inc(c.responses_by_fc, m.func);
    }
  }
  return c;
}

describe('pipeline on real-peer captures (expectations from the clients’ own logs)', () => {
  it('has the peer captures, one of them on a non-standard port', () => {
    expect(expectations.length).toBeGreaterThanOrEqual(3);
    expect(expectations.some((e) => e.port !== 502)).toBe(true);
  });

  for (const e of expectations) {
    it(`${e.pcap} (port ${e.port}): counters and events match the client log`, async () => {
      const run = await runCaptureThroughPipeline(join(here, e.pcap));
      expect(run.error).toBeNull();
      const summary = run.pipeline.modbus.toJSON();

      // The run summary (counters, always on).
      expect({
        pdus: summary.pdus,
        requests: summary.requests,
        responses: summary.responses,
        exception_responses: summary.exception_responses,
        exceptions_by_func_code: summary.exceptions_by_func_code,
        exception_codes: summary.exception_codes,
        func_codes: summary.func_codes,
        unit_ids: summary.unit_ids,
        transactions: summary.transactions,
      }).toEqual({
        pdus: e.total_pdus,
        requests: e.requests,
        responses: e.responses,
        exception_responses: Object.values(e.exceptions_by_code).reduce((a, b) => a + b, 0),
        exceptions_by_func_code: e.exceptions_by_fc,
        exception_codes: e.exceptions_by_code,
        func_codes: addCounts(e.requests_by_fc, e.responses_by_fc, e.exceptions_by_fc),
        unit_ids: e.unit_ids,
        transactions: e.requests,
      });
      expect(summary.anomalies).toEqual({});

      // The transaction events (one per request, paired with its response).
      const tx = countTransactions(run.events);
      expect(tx).toEqual({
        requests: e.requests,
        responses: e.responses,
        requests_by_fc: e.requests_by_fc,
        responses_by_fc: e.responses_by_fc,
        exceptions_by_fc: e.exceptions_by_fc,
        exceptions_by_code: e.exceptions_by_code,
        requests_by_unit: e.requests_by_unit,
        kinds: {
          paired: e.requests - e.unanswered_requests,
          ...(e.unanswered_requests > 0 ? { unanswered: e.unanswered_requests } : {}),
        },
      });

      // Detected without configuration, with the roles the client log implies: the server is on the capture's port.
      const transactions = run.events.filter(isTransaction);
      expect(transactions.length).toBe(e.requests);
      for (const t of transactions) {
        expect(t.proto).toBe('modbus');
        expect(t.server.port).toBe(e.port);
      }
      expect(run.pipeline.stats.modbusFlows).toBeGreaterThanOrEqual(1);
      expect(run.pipeline.stats.nonModbusOnModbusPort).toBe(0);
      expect(run.events.filter((ev) => ev.kind === 'anomaly')).toEqual([]);
    });
  }
});
