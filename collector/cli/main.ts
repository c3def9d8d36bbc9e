/**
 * `otcollector`: the provincial collector's command line.
 *
 *   otcollector serve --nats URL --store URL [--port N] ...     ingest + API (docs/collector.md)
 *   otcollector migrate --store URL
 *   otcollector token create --store URL --role ROLE [--province P] [--enterprise E]... --label L
 *   otcollector token list|revoke --store URL [ID]
 *   otcollector enterprise import FILE.csv --store URL
 *   otcollector sensor add --store URL --id S --enterprise E [--name NAME]
 *   otcollector bulletin|pack|verify|keys ...   (docs/bulletins.md, docs/evidence-packs.md)
 *   otcollector drill SCENARIO.yaml --collector URL --token T --nats URL ...   (docs/drills.md)
 *
 * Exit status: 0 ok, 1 failure, 2 usage error. Secrets (token values) are printed once, on stdout, and never logged.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseEnterpriseCsv } from '../api/enterprise-import.ts';
import { issueToken } from '../api/tokens.ts';
import { BULLETIN_USAGE, bulletinCommand } from '../bulletins/command.ts';
import { DRILL_USAGE, DrillUsageError, runDrillCommand } from '../drill/command.ts';
import { keysCommand, PACK_USAGE, packCommand, verifyCommand } from '../packs/command.ts';
import { CommandUsageError } from '../packs/state.ts';
import { startCollector } from '../service.ts';
import { openStore } from '../store/open.ts';
import type { CollectorStore, Role } from '../store/types.ts';
import { RISK_WARNING_USAGE, riskCommand, warningsCommand } from '../warnings/command.ts';

const USAGE = `usage:
  otcollector serve --nats URL[,URL...] --store sqlite:PATH|postgres://... [--port 8080] [--host 127.0.0.1]
      [--nkey SEEDFILE] [--name collector] [--tls-ca F --tls-cert F --tls-key F] [--retention-days 180]
      [--no-ensure-streams] [--api-only] [--log-requests] [--state-dir DIR]
      [--influx-url URL --influx-token T --influx-org O --influx-bucket B]   metrics (docs/metrics.md)
      [--risk-config FILE] [--warning-rules DIR]... [--webhook URL]... [--webhook-secret S]
      [--evaluate-interval SEC (300)]   risk scores and warnings (docs/risk.md, docs/warnings.md)
      Ingest from JetStream (durable consumer 'collector', shared by every instance) into the store and serve the
      HTTP API (OpenAPI docs at /docs). SIGINT/SIGTERM finish the batch in hand and stop.
  otcollector migrate --store URL
  otcollector token create --store URL --role province-admin|province-analyst|enterprise|assessor --label TEXT
      [--province P] [--enterprise E]...     prints the token secret once
  otcollector token list --store URL
  otcollector token revoke --store URL ID
  otcollector enterprise import FILE.csv --store URL
      Columns: id,name,province,city,industry,class,grade[,contact_name,contact_phone,contact_email]; class and grade
      as codes or in Chinese (联网工业企业/平台企业/标识解析企业, 一级/二级/三级). Nothing is written if any row is bad.
  otcollector sensor add --store URL --id SENSOR --enterprise ENTERPRISE [--name NAME]
${BULLETIN_USAGE}${PACK_USAGE}${DRILL_USAGE}${RISK_WARNING_USAGE}`;

class UsageError extends Error {}

async function withStore<T>(url: string | undefined, fn: (store: CollectorStore) => Promise<T>): Promise<T> {
  if (!url) throw new UsageError('--store URL is required (sqlite:PATH or postgres://...)');
  const store = await openStore(url);
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      nats: { type: 'string' },
      store: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8080' },
      nkey: { type: 'string' },
      name: { type: 'string', default: 'collector' },
      'tls-ca': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'retention-days': { type: 'string' },
      'no-ensure-streams': { type: 'boolean', default: false },
      'api-only': { type: 'boolean', default: false },
      'log-requests': { type: 'boolean', default: false },
      'state-dir': { type: 'string' },
      'influx-url': { type: 'string' },
      'influx-token': { type: 'string' },
      'influx-org': { type: 'string' },
      'influx-bucket': { type: 'string' },
      'risk-config': { type: 'string' },
      'warning-rules': { type: 'string', multiple: true },
      webhook: { type: 'string', multiple: true },
      'webhook-secret': { type: 'string' },
      'evaluate-interval': { type: 'string' },
    },
  });
  const evaluateIntervalSec =
    values['evaluate-interval'] === undefined ? undefined : Number(values['evaluate-interval']);
  if (evaluateIntervalSec !== undefined && !(evaluateIntervalSec >= 0)) {
    throw new UsageError('serve: --evaluate-interval must be >= 0 seconds');
  }
  if (!values.store) throw new UsageError('serve: --store URL is required');
  const influxUrl = values['influx-url'];
  if (influxUrl !== undefined && (!values['influx-org'] || !values['influx-bucket'])) {
    throw new UsageError('serve: --influx-url needs --influx-org and --influx-bucket (and usually --influx-token)');
  }
  if (!values.nats && !values['api-only']) throw new UsageError('serve: --nats URL is required (or --api-only)');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('serve: --port must be 0..65535');
  const retentionDays = values['retention-days'] === undefined ? undefined : Number(values['retention-days']);
  if (retentionDays !== undefined && !(retentionDays > 0)) throw new UsageError('serve: --retention-days must be > 0');
  const tls =
    values['tls-ca'] || values['tls-cert'] || values['tls-key']
      ? { caFile: values['tls-ca'], certFile: values['tls-cert'], keyFile: values['tls-key'] }
      : undefined;
  const collector = await startCollector({
    natsUrl: values.nats ?? '',
    nkeySeedFile: values.nkey,
    name: values.name,
    tls,
    storeUrl: values.store,
    http: { host: values.host, port },
    ensureStreams: !values['no-ensure-streams'],
    ...(retentionDays !== undefined ? { retentionDays } : {}),
    apiOnly: values['api-only'],
    apiLogger: values['log-requests'],
    ...(values['state-dir'] !== undefined ? { stateDir: values['state-dir'] } : {}),
    riskConfigFile: values['risk-config'],
    warningRuleDirs: values['warning-rules'],
    webhooks: values.webhook,
    webhookSecret: values['webhook-secret'] ?? process.env.OTCOLLECTOR_WEBHOOK_SECRET,
    evaluateIntervalSec,
    ...(influxUrl !== undefined
      ? {
          influx: {
            url: influxUrl,
            token: values['influx-token'] ?? process.env.OTCOLLECTOR_INFLUX_TOKEN ?? '',
            org: values['influx-org'] ?? '',
            bucket: values['influx-bucket'] ?? '',
          },
        }
      : {}),
  });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stderr.write('otcollector: stopping (finishing the batch in hand)\n');
  await collector.stop();
  return 0;
}

async function token(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      store: { type: 'string' },
      role: { type: 'string' },
      label: { type: 'string' },
      province: { type: 'string' },
      enterprise: { type: 'string', multiple: true, default: [] },
    },
  });
  if (sub === 'create') {
    const role = values.role as Role | undefined;
    if (!role || !['province-admin', 'province-analyst', 'enterprise', 'assessor'].includes(role)) {
      throw new UsageError('token create: --role province-admin|province-analyst|enterprise|assessor');
    }
    if (!values.label) throw new UsageError('token create: --label TEXT is required');
    const label = values.label;
    return await withStore(values.store, async (store) => {
      const { token: t, secret } = await issueToken(
        store,
        {
          label,
          role,
          ...(values.province !== undefined ? { province: values.province } : {}),
          enterprises: values.enterprise,
        },
        { kind: 'all' },
      );
      process.stdout.write(
        `${JSON.stringify({ id: t.id, role: t.role, province: t.province, enterprises: t.enterprises, secret })}\n`,
      );
      process.stderr.write('otcollector: the secret above is shown once; store it now\n');
      return 0;
    });
  }
  if (sub === 'list') {
    return await withStore(values.store, async (store) => {
      for (const t of await store.listTokens()) process.stdout.write(`${JSON.stringify(t)}\n`);
      return 0;
    });
  }
  if (sub === 'revoke') {
    const id = positionals[0];
    if (!id) throw new UsageError('token revoke: give the token ID');
    return await withStore(values.store, async (store) => ((await store.revokeToken(id)) ? 0 : 1));
  }
  throw new UsageError("token: use 'token create', 'token list' or 'token revoke'");
}

async function enterprise(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { store: { type: 'string' } },
  });
  if (sub !== 'import' || positionals.length !== 1) throw new UsageError('enterprise import FILE.csv --store URL');
  const text = readFileSync(positionals[0] as string, 'utf8');
  const parsed = parseEnterpriseCsv(text);
  if (parsed.errors.length > 0) {
    for (const e of parsed.errors) process.stderr.write(`otcollector: ${positionals[0]}: ${e.path}: ${e.message}\n`);
    process.stderr.write(`otcollector: nothing imported (${parsed.errors.length} problems)\n`);
    return 1;
  }
  return await withStore(values.store, async (store) => {
    for (const { enterprise: e } of parsed.rows) {
      const existing = await store.getEnterprise(e.id, { kind: 'all' });
      await store.upsertEnterprise({
        ...e,
        contacts: e.contacts ?? existing?.contacts ?? [],
        maintenanceWindows: existing?.maintenanceWindows ?? [],
      });
    }
    process.stderr.write(`otcollector: imported ${parsed.rows.length} enterprises\n`);
    return 0;
  });
}

async function sensor(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      store: { type: 'string' },
      id: { type: 'string' },
      enterprise: { type: 'string' },
      name: { type: 'string' },
    },
  });
  if (sub !== 'add' || !values.id || !values.enterprise) {
    throw new UsageError('sensor add --store URL --id SENSOR --enterprise ENTERPRISE [--name NAME]');
  }
  const id = values.id;
  const enterpriseId = values.enterprise;
  return await withStore(values.store, async (store) => {
    const s = await store.upsertSensor({ id, enterpriseId, ...(values.name ? { name: values.name } : {}) });
    process.stdout.write(`${JSON.stringify(s)}\n`);
    return 0;
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      (command === undefined ? process.stderr : process.stdout).write(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === 'serve') return await serve(rest);
    if (command === 'migrate') {
      const { values } = parseArgs({ args: rest, options: { store: { type: 'string' } } });
      return await withStore(values.store, async () => 0);
    }
    if (command === 'token') return await token(rest);
    if (command === 'enterprise') return await enterprise(rest);
    if (command === 'sensor') return await sensor(rest);
    if (command === 'drill') return await runDrillCommand(rest);
    if (command === 'bulletin') return await bulletinCommand(rest);
    if (command === 'pack') return await packCommand(rest);
    if (command === 'verify') return verifyCommand(rest);
    if (command === 'keys') return keysCommand(rest);
    if (command === 'risk') return await riskCommand(rest);
    if (command === 'warnings') return await warningsCommand(rest);
    throw new UsageError(`unknown command '${command}'`);
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof DrillUsageError ||
      err instanceof CommandUsageError ||
      (err instanceof TypeError && 'code' in err)
    ) {
      process.stderr.write(`otcollector: ${err.message}\n${USAGE}`);
      return 2;
    }
    // Known failures (bad store URL, NATS unreachable, API refusals) print one line, no stack.
    process.stderr.write(`otcollector: ${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
