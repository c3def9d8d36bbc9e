/**
 * `otcollector serve`: one collector instance. Opens (and migrates) the store, connects to NATS with the collector's
 * credentials, makes sure the stream and the durable consumer exist, answers the sensors' clock requests, ingests
 * from the shared durable consumer into the store (several instances may run against the same stream and store),
 * serves the HTTP API, and applies retention hourly. `stop()` finishes the batch in hand before closing.
 */
import { readFileSync } from 'node:fs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type ConnectionOptions, connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { TIME_SUBJECT } from '../protocols/wire/messages.ts';
import { DEFAULT_STREAM_LIMITS, ensureStreams, type StreamLimits } from '../protocols/wire/streams.ts';
import { buildApi, type IngestStatus } from './api/app.ts';
import { type IngestConsumer as Consumer, IngestConsumer } from './ingest/consumer.ts';
import { StoreIngestHandler } from './ingest/handler.ts';
import { type InfluxConfig, InfluxMetrics } from './metrics/influx.ts';
import { MeteredIngestHandler, startRiskMetrics } from './metrics/ingest.ts';
import { stateDirFor } from './packs/state.ts';
import { loadRiskConfig } from './risk/config.ts';
import { RiskEngine } from './risk/engine.ts';
import { openStore } from './store/open.ts';
import type { CollectorStore } from './store/types.ts';
import { type EvaluationResult, WarningEvaluator, type WarningEventSink } from './warnings/evaluator.ts';
import { loadWarningRules } from './warnings/loader.ts';
import { fanOut, NatsWarningPublisher, WebhookDispatcher } from './warnings/publish.ts';
import { registerWeb } from './web/plugin.ts';

export interface CollectorConfig {
  /** NATS URL(s), comma-separated for a cluster. */
  natsUrl: string;
  /** The collector's nkey seed file (otdeploy creds collector); absent for an unauthenticated pilot server. */
  nkeySeedFile?: string | undefined;
  /** Credential name: the connection's inbox prefix is `_INBOX.collector.<name>` (what its permissions allow). */
  name: string;
  tls?: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined } | undefined;
  /** `sqlite:PATH` or `postgres://…`. */
  storeUrl: string;
  http: { host: string; port: number };
  /** Create or update the stream and consumer at start (default true). */
  ensureStreams?: boolean;
  streamLimits?: Partial<StreamLimits>;
  /** Alerts, asset changes, health and stats older than this are deleted hourly (default 180 days). */
  retentionDays?: number;
  /** Messages per store transaction (default 200). */
  ingestBatch?: number;
  /** Run the API only (no ingest): a read replica in front of a shared PostgreSQL. */
  apiOnly?: boolean;
  log?: (line: string) => void;
  apiLogger?: boolean;
  /** Signing key and stored bulletins (default: beside the SQLite file; packs/state.ts). */
  stateDir?: string;
  /** Write metrics to an InfluxDB-v2-write-API server (docs/metrics.md). */
  influx?: InfluxConfig;
  /** Risk weights overriding data/risk/weights.yaml (docs/risk.md). */
  riskConfigFile?: string | undefined;
  /** Warning rule directories besides the bundled data/warnings (docs/warnings.md). */
  warningRuleDirs?: string[] | undefined;
  /** Webhook URLs every warning event is POSTed to, and the HMAC-SHA256 secret that signs them. */
  webhooks?: string[] | undefined;
  webhookSecret?: string | undefined;
  /** Seconds between risk recomputation + warning evaluation (default 300; 0: only on demand). */
  evaluateIntervalSec?: number | undefined;
}

export interface RunningCollector {
  store: CollectorStore;
  api: FastifyInstance;
  consumer: Consumer | null;
  /** Where the API listens. */
  url: string;
  ingestStatus(): IngestStatus;
  /** The metrics writer when `influx` is configured (its `stats` count writes, failures and drops). */
  metrics: InfluxMetrics | null;
  risk: RiskEngine;
  /** Null on an API-only instance (it neither evaluates nor publishes). */
  warnings: WarningEvaluator | null;
  webhooks: WebhookDispatcher | null;
  /** Recomputes risk and evaluates the warning rules now (what the periodic timer runs). */
  evaluateNow(): Promise<EvaluationResult | null>;
  stop(): Promise<void>;
}

function natsOptions(config: CollectorConfig): ConnectionOptions {
  const opts: ConnectionOptions = {
    servers: config.natsUrl
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
    name: `otcollector ${config.name}`,
    inboxPrefix: `_INBOX.collector.${config.name}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  };
  if (config.nkeySeedFile !== undefined) {
    const seed = readFileSync(config.nkeySeedFile, 'utf8').trim();
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (config.tls !== undefined) {
    opts.tls = {
      ...(config.tls.caFile !== undefined ? { caFile: config.tls.caFile } : {}),
      ...(config.tls.certFile !== undefined ? { certFile: config.tls.certFile } : {}),
      ...(config.tls.keyFile !== undefined ? { keyFile: config.tls.keyFile } : {}),
    };
  }
  return opts;
}

export async function startCollector(config: CollectorConfig): Promise<RunningCollector> {
  const log = config.log ?? ((line: string) => process.stderr.write(`otcollector: ${line}\n`));
  // Configuration errors (bad weights, bad rule files) stop the start, naming file and line.
  const riskConfig = loadRiskConfig(config.riskConfigFile);
  const warningRules = loadWarningRules(config.warningRuleDirs ?? []);
  const store = await openStore(config.storeUrl);
  await store.migrate();
  let nc: NatsConnection | null = null;
  let consumer: IngestConsumer | null = null;
  let pending: number | null = null;
  let pendingTimer: NodeJS.Timeout | null = null;
  const timers: NodeJS.Timeout[] = [];
  const metrics = config.influx ? new InfluxMetrics({ log, ...config.influx }) : null;
  const risk = new RiskEngine(store, riskConfig);
  const webhooks =
    config.webhooks !== undefined && config.webhooks.length > 0
      ? new WebhookDispatcher({ urls: config.webhooks, secret: config.webhookSecret })
      : null;
  let warnings: WarningEvaluator | null = null;
  let onWarningEvent: WarningEventSink | undefined;
  let evaluating: Promise<EvaluationResult | null> | null = null;
  let stopRiskMetrics: (() => void) | null = null;
  try {
    if (config.apiOnly !== true) {
      nc = await connect(natsOptions(config));
      const conn = nc;
      const jsm = await jetstreamManager(conn);
      if (config.ensureStreams !== false) {
        const result = await ensureStreams(jsm, { ...DEFAULT_STREAM_LIMITS, ...config.streamLimits });
        log(`stream OT_V1 ${result.stream}, consumer collector ${result.consumer}`);
      }
      // Clock service for the sensors' health reports; a queue group so one instance of several answers.
      conn.subscribe(TIME_SUBJECT, {
        queue: 'otcollector',
        callback: (_err, msg) => {
          msg.respond(JSON.stringify({ now: Date.now() }));
        },
      });
      const storeHandler = new StoreIngestHandler(store, log);
      const handler = metrics ? new MeteredIngestHandler(storeHandler, metrics) : storeHandler;
      consumer = new IngestConsumer(jetstream(conn), handler, { batch: config.ingestBatch ?? 200, log });
      onWarningEvent = fanOut(new NatsWarningPublisher(conn), webhooks);
      warnings = new WarningEvaluator(store, warningRules, { instance: config.name, onEvent: onWarningEvent });
      await consumer.start();
      const refreshPending = async () => {
        try {
          const info = await jsm.consumers.info('OT_V1', 'collector');
          pending = info.num_pending + info.num_ack_pending;
        } catch {
          pending = null;
        }
      };
      await refreshPending();
      pendingTimer = setInterval(() => void refreshPending(), 5000);
      pendingTimer.unref();
    }
    const retentionMs = (config.retentionDays ?? 180) * 86_400_000;
    const retention = async () => {
      try {
        const removed = await store.applyRetention(new Date(Date.now() - retentionMs).toISOString());
        if (removed > 0) log(`retention: removed ${removed} rows older than ${config.retentionDays ?? 180} days`);
      } catch (err) {
        log(`retention failed: ${(err as Error).message}`);
      }
    };
    void retention();
    const t = setInterval(() => void retention(), 3_600_000);
    t.unref();
    timers.push(t);
    const ingestStatus = (): IngestStatus => {
      const s = consumer?.stats;
      return {
        running: consumer !== null && nc !== null && !nc.isClosed(),
        // Nothing waiting means no lag, however long ago the last message was stored.
        lagMs: pending === 0 ? 0 : s?.lastStoredAtMs == null ? null : Math.max(0, Date.now() - s.lastStoredAtMs),
        pending,
        received: s?.received ?? 0,
        accepted: s?.accepted ?? 0,
        redelivered: s?.redelivered ?? 0,
        handlerErrors: s?.handlerErrors ?? 0,
        rejected: { ...(s?.rejected ?? {}) },
      };
    };
    const evaluateNow = async (): Promise<EvaluationResult | null> => {
      // One run at a time per instance; several instances are safe (issuing is idempotent in the store).
      if (evaluating !== null) return await evaluating;
      evaluating = (async () => {
        try {
          await risk.recompute({ kind: 'all' });
          if (warnings === null) return null;
          const result = await warnings.evaluate();
          if (result.issued.length > 0) log(`warnings: issued ${result.issued.length}`);
          for (const [rule, message] of Object.entries(result.errors)) log(`warning rule ${rule} failed: ${message}`);
          return result;
        } catch (err) {
          log(`risk/warning evaluation failed: ${(err as Error).message}`);
          return null;
        } finally {
          evaluating = null;
        }
      })();
      return await evaluating;
    };
    const intervalSec = config.evaluateIntervalSec ?? 300;
    if (config.apiOnly !== true && intervalSec > 0) {
      const e = setInterval(() => void evaluateNow(), intervalSec * 1000);
      e.unref();
      timers.push(e);
      void evaluateNow();
    }
    if (metrics) {
      stopRiskMetrics = startRiskMetrics(store, metrics, { log });
      log(`metrics: writing to ${config.influx?.url} (bucket ${config.influx?.bucket})`);
    }
    const api = await buildApi({
      store,
      ingestStatus,
      logger: config.apiLogger ?? false,
      stateDir: stateDirFor(config.storeUrl, config.stateDir),
      risk,
      ...(onWarningEvent === undefined ? {} : { onWarningEvent }),
      // The dashboard: bundled in memory at start, served at `/` with live updates (collector/web/).
      plugins: [(app) => registerWeb(app, { store })],
    });
    const address = await api.listen({ host: config.http.host, port: config.http.port });
    log(`API listening on ${address} (OpenAPI docs at ${address}/docs), store ${store.backend}`);
    return {
      store,
      api,
      consumer,
      url: address,
      ingestStatus,
      metrics,
      risk,
      warnings,
      webhooks,
      evaluateNow,
      stop: async () => {
        for (const timer of timers) clearInterval(timer);
        if (pendingTimer) clearInterval(pendingTimer);
        await api.close();
        await (evaluating as Promise<unknown> | null)?.catch(() => undefined);
        webhooks?.close();
        await consumer?.stop();
        if (nc !== null && !nc.isClosed()) await nc.drain().catch(() => undefined);
        stopRiskMetrics?.();
        await metrics?.close();
        await store.close();
      },
    };
  } catch (err) {
    for (const timer of timers) clearInterval(timer);
    webhooks?.close();
    if (pendingTimer) clearInterval(pendingTimer);
    await consumer?.stop().catch(() => undefined);
    stopRiskMetrics?.();
    await metrics?.close().catch(() => undefined);
    if (nc !== null && !nc.isClosed()) await nc.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}
