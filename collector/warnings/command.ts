/**
 * `otcollector risk` and `otcollector warnings evaluate|list|check` (docs/risk.md, docs/warnings.md).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node';
import { CommandUsageError } from '../packs/state.ts';
import { loadRiskConfig } from '../risk/config.ts';
import { RiskEngine } from '../risk/engine.ts';
import { openStore } from '../store/open.ts';
import {
  type CollectorStore,
  WARNING_LEVEL_ZH,
  WARNING_LEVELS,
  WARNING_STATES,
  type WarningFilter,
  type WarningLevel,
  type WarningState,
} from '../store/types.ts';
import { WarningEvaluator } from './evaluator.ts';
import { loadWarningRules } from './loader.ts';
import { fanOut, NatsWarningPublisher, WebhookDispatcher } from './publish.ts';

export const RISK_WARNING_USAGE = `  otcollector risk --store URL [--enterprise E] [--risk-config FILE] [--now ISO] [--no-save] [--json]
      Recompute risk scores now (stored in the history unless --no-save) and print them; with --enterprise, the
      score explained factor by factor (docs/risk.md).
  otcollector warnings evaluate --store URL [--warning-rules DIR]... [--risk-config FILE] [--now ISO]
      [--nats URL [--nkey SEEDFILE] [--name collector]] [--webhook URL]... [--webhook-secret S] [--json]
      Recompute risk, evaluate the warning rules once, publish what was issued (docs/warnings.md).
  otcollector warnings list --store URL [--state issued|acknowledged|closed] [--level blue|yellow|orange|red]
      [--include-drill] [--json]
  otcollector warnings check [--warning-rules DIR]...     load the rules and report problems (file:line)
`;

async function withStore<T>(url: string | undefined, fn: (store: CollectorStore) => Promise<T>): Promise<T> {
  if (!url) throw new CommandUsageError('--store URL is required (sqlite:PATH or postgres://...)');
  const store = await openStore(url);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function nowOf(text: string | undefined): number {
  if (text === undefined) return Date.now();
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new CommandUsageError(`--now '${text}' is not an ISO time`);
  return ms;
}

export async function riskCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      store: { type: 'string' },
      enterprise: { type: 'string' },
      'risk-config': { type: 'string' },
      now: { type: 'string' },
      'no-save': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const config = loadRiskConfig(values['risk-config']);
  const now = nowOf(values.now);
  return await withStore(values.store, async (store) => {
    const engine = new RiskEngine(store, config);
    const scores = await engine.recompute(
      { kind: 'all' },
      { now, persist: !values['no-save'], ...(values.enterprise ? { enterpriseId: values.enterprise } : {}) },
    );
    if (values.enterprise !== undefined && scores.length === 0) {
      process.stderr.write(`otcollector: enterprise '${values.enterprise}' is not registered\n`);
      return 1;
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(values.enterprise ? scores[0] : scores, null, 2)}\n`);
      return 0;
    }
    for (const s of scores) {
      process.stdout.write(`${s.enterpriseId}\t${s.score.toFixed(2)}\n`);
      if (values.enterprise === undefined) continue;
      for (const c of s.contributions) {
        process.stdout.write(`  ${c.factor}\t${c.points.toFixed(2)} / ${c.weight}\t${c.detailZh}\n`);
        for (const e of c.evidence.slice(0, 5))
          process.stdout.write(`      ${e.kind} ${e.id}${e.label ? ` ${e.label}` : ''}\n`);
      }
    }
    return 0;
  });
}

async function natsFor(url: string, nkey: string | undefined, name: string): Promise<NatsConnection> {
  return await connect({
    servers: url.split(',').map((u) => u.trim()),
    name: `otcollector ${name} (warnings evaluate)`,
    inboxPrefix: `_INBOX.collector.${name}`,
    ...(nkey === undefined
      ? {}
      : { authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(nkey, 'utf8').trim())) }),
  });
}

export async function warningsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'check') {
    const { values } = parseArgs({ args: rest, options: { 'warning-rules': { type: 'string', multiple: true } } });
    const rules = loadWarningRules(values['warning-rules'] ?? []);
    for (const r of rules) process.stdout.write(`${r.id}\t${r.level}\t${r.condition.kind}\t${r.source}\n`);
    return 0;
  }
  if (sub === 'list') {
    const { values } = parseArgs({
      args: rest,
      options: {
        store: { type: 'string' },
        state: { type: 'string' },
        level: { type: 'string' },
        'include-drill': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    if (values.state !== undefined && !WARNING_STATES.includes(values.state as WarningState)) {
      throw new CommandUsageError(`--state must be one of ${WARNING_STATES.join(', ')}`);
    }
    if (values.level !== undefined && !WARNING_LEVELS.includes(values.level as WarningLevel)) {
      throw new CommandUsageError(`--level must be one of ${WARNING_LEVELS.join(', ')}`);
    }
    const filter: WarningFilter = { includeDrill: values['include-drill'] };
    if (values.state !== undefined) filter.state = values.state as WarningState;
    if (values.level !== undefined) filter.level = values.level as WarningLevel;
    return await withStore(values.store, async (store) => {
      const page = await store.listWarnings({ kind: 'all' }, filter, { limit: 1000 });
      if (values.json) process.stdout.write(`${JSON.stringify(page.items, null, 2)}\n`);
      else {
        for (const w of page.items) {
          const acked = w.targets.filter((t) => t.ackAt !== null).length;
          process.stdout.write(
            `${w.issuedAt}\t${WARNING_LEVEL_ZH[w.level]}\t${w.state}\t${acked}/${w.targets.length}\t${w.ruleId}\t${w.title.zh}${w.drill ? '\t[演练]' : ''}\t${w.id}\n`,
          );
        }
      }
      return 0;
    });
  }
  if (sub === 'evaluate') {
    const { values } = parseArgs({
      args: rest,
      options: {
        store: { type: 'string' },
        'warning-rules': { type: 'string', multiple: true },
        'risk-config': { type: 'string' },
        now: { type: 'string' },
        nats: { type: 'string' },
        nkey: { type: 'string' },
        name: { type: 'string', default: 'collector' },
        webhook: { type: 'string', multiple: true },
        'webhook-secret': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const rules = loadWarningRules(values['warning-rules'] ?? []);
    const config = loadRiskConfig(values['risk-config']);
    const now = nowOf(values.now);
    const nc = values.nats === undefined ? null : await natsFor(values.nats, values.nkey, values.name);
    const webhookUrls = values.webhook ?? [];
    const webhooks =
      webhookUrls.length === 0
        ? null
        : new WebhookDispatcher({
            urls: webhookUrls,
            secret: values['webhook-secret'] ?? process.env.OTCOLLECTOR_WEBHOOK_SECRET,
            maxAttempts: 3,
            baseDelayMs: 500,
          });
    try {
      return await withStore(values.store, async (store) => {
        await new RiskEngine(store, config).recompute({ kind: 'all' }, { now });
        const evaluator = new WarningEvaluator(store, rules, {
          instance: `${values.name}-cli`,
          onEvent: fanOut(nc === null ? null : new NatsWarningPublisher(nc), webhooks),
        });
        const result = await evaluator.evaluate(now);
        if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else {
          for (const w of result.issued) {
            process.stdout.write(
              `issued\t${WARNING_LEVEL_ZH[w.level]}\t${w.ruleId}\t${w.title.zh}\t${w.targets.length} targets\t${w.id}\n`,
            );
          }
          process.stdout.write(`${result.issued.length} issued, ${result.existing} already issued\n`);
        }
        for (const [rule, message] of Object.entries(result.errors))
          process.stderr.write(`otcollector: rule ${rule}: ${message}\n`);
        return Object.keys(result.errors).length === 0 ? 0 : 1;
      });
    } finally {
      await webhooks?.drain();
      webhooks?.close();
      if (nc !== null) await nc.drain().catch(() => undefined);
    }
  }
  throw new CommandUsageError("warnings: use 'warnings evaluate', 'warnings list' or 'warnings check'");
}
