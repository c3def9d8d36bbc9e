/**
 * Lazy bodies (rules without events) must show a rule and its evidence the same request/response bodies as eager
 * decoding (events on): compared on a real open62541 capture, with a rule that matches every transaction.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRuleSet, compileRules } from '../../rules/engine/compile.ts';
import { CollectingAlertSink } from '../../sensor/alerts.ts';
import { analyseFile, drainSource } from '../../sensor/analyse-file.ts';
import { openCaptureFile } from '../../sensor/capture/file-source.ts';
import { Pipeline } from '../../sensor/pipeline.ts';
import { SHARED_PCAPS } from '../../tests/support/paths.ts';
import { runCaptureThroughPipeline } from '../../tests/support/run-pipeline.ts';
import { decodeServiceBody } from './decode.ts';
import { LazyBody } from './lazy-tx.ts';

const CAPTURE = join(SHARED_PCAPS, 'icsnpp-opcua__open62541_client-server_mainloop.pcap');

const EVERY_TX = buildRuleSet(
  compileRules([
    {
      file: 'mem.yml',
      text: `title: every transaction
id: every
level: low
logsource: {product: ot, service: opcua}
detection:
  tx: {kind: [paired, unanswered, unsolicited]}
  condition: tx
`,
    },
  ]).rules,
);

describe('lazy OPC UA bodies', () => {
  it('alerts and their evidence bodies equal those of eager decoding', async () => {
    const lazySink = new CollectingAlertSink();
    await analyseFile(CAPTURE, { rules: EVERY_TX, alerts: lazySink });
    const eagerSink = new CollectingAlertSink();
    await runCaptureThroughPipeline(CAPTURE, { rules: EVERY_TX, alerts: eagerSink });
    expect(lazySink.alerts.length).toBeGreaterThan(10);
    expect(lazySink.alerts.length).toBe(eagerSink.alerts.length);
    const bodies = (sink: CollectingAlertSink) =>
      sink.alerts.map((a) => {
        const o = (a.event as { opcua?: { request?: unknown; response?: unknown } } | null)?.opcua;
        return JSON.stringify([o?.request ?? null, o?.response ?? null]);
      });
    const lazy = bodies(lazySink);
    expect(lazy.filter((b) => b !== '[null,null]').length).toBeGreaterThan(10);
    expect(lazy).toEqual(bodies(eagerSink));
  });

  it('is the same when every packet is its own batch and the read buffer is tiny (bodies copied at batch end)', async () => {
    // Each request's response then comes in a later batch, after the file source has refilled its buffer, so every
    // body kept by reference into the lent batch buffer (core/batch-loan.ts) must have been copied at batch end.
    const bodies = (sink: CollectingAlertSink) =>
      sink.alerts.map((a) => JSON.stringify((a.event as { opcua?: unknown } | null)?.opcua ?? null));
    const small = new CollectingAlertSink();
    const pipeline = new Pipeline({ rules: EVERY_TX, alerts: small });
    const source = await openCaptureFile(CAPTURE, { batchSize: 1, chunkSize: 256 });
    expect(await drainSource(source, pipeline)).toBeNull();
    expect(pipeline.loan.returns).toBeGreaterThan(10);
    const whole = new CollectingAlertSink();
    await analyseFile(CAPTURE, { rules: EVERY_TX, alerts: whole });
    expect(small.alerts.length).toBeGreaterThan(10);
    expect(bodies(small)).toEqual(bodies(whole));
  });

  it('LazyBody decodes once, on first read; set() overrides', () => {
    // A ReadRequest body is not needed: an unknown service id decodes to whatever decodeServiceBody gives for it.
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const b = new LazyBody();
    b.point(631, bytes, 0, 4);
    expect(b.done).toBe(false);
    const first = b.get();
    expect(b.done).toBe(true);
    expect(first).toEqual(decodeServiceBody(631, bytes, 0, 4));
    expect(b.get()).toBe(first);
    b.set(null);
    expect(b.get()).toBeNull();
  });
});
