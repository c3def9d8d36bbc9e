/**
 * `otdeploy`: credentials, TLS material, nats-server configurations and streams for running otwatch for real.
 * See deploy/README.md for the walk-through.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { DEFAULT_STREAM_LIMITS, ensureStreams } from '../protocols/wire/streams.ts';
import type { ConnectInfo } from './creds.ts';
import { loadRegistry, renderAuthFile } from './creds.ts';
import { type CliIo, CREDS_USAGE, runCreds, STDIO } from './creds-cli.ts';
import { renderClusterNodeConfig, renderLeafnodeConfig, renderPilotConfig } from './nats-config.ts';
import { readSeedFile } from './sensor-config.ts';
import { initTls } from './tls.ts';

export const USAGE = `usage: otdeploy <command> ...
${CREDS_USAGE.replace(/^creds/gm, '  creds')}
  auth render --out DIR
      Re-render DIR/auth.conf from DIR/users.json.
  tls init --out DIR [--hosts h1,h2,...] [--days N] [--force]
      A CA, a server certificate (for the hosts, plus localhost/127.0.0.1) and a client certificate in DIR/tls.
  config pilot   --out DIR [--creds DIR] [--tls-dir DIR] [--listen H:P] [--store DIR] [--name N]
                 [--leafnode-listen H:P] [--max-file-store 16GB]
  config cluster --out DIR --nodes n1=host[:client[:route[:leaf]]],n2=...,n3=... [--cluster-name N] [--creds DIR]
                 [--tls-dir DIR] [--store DIR] [--max-file-store 64GB]
  config leaf    --out DIR --province P --enterprise E --hub H:P[,H:P] [--creds DIR] [--tls-dir DIR]
                 [--listen H:P] [--name N]
  streams ensure --nats-url URL --creds SEEDFILE [--inbox-prefix P] [--ca FILE] [--replicas N] [--max-age 14d]
                 [--max-bytes 8GiB] [--duplicate-window 10m]
`;

class UsageError extends Error {}

const OPTIONS = {
  out: { type: 'string' },
  creds: { type: 'string' },
  'tls-dir': { type: 'string' },
  listen: { type: 'string' },
  store: { type: 'string' },
  name: { type: 'string' },
  'leafnode-listen': { type: 'string' },
  'max-file-store': { type: 'string' },
  nodes: { type: 'string' },
  'cluster-name': { type: 'string' },
  province: { type: 'string' },
  enterprise: { type: 'string' },
  hub: { type: 'string' },
  hosts: { type: 'string' },
  days: { type: 'string' },
  force: { type: 'boolean' },
  'nats-url': { type: 'string' },
  'inbox-prefix': { type: 'string' },
  ca: { type: 'string' },
  replicas: { type: 'string' },
  'max-age': { type: 'string' },
  'max-bytes': { type: 'string' },
  'duplicate-window': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Record<string, string | boolean | undefined>;

function need(v: Values, name: string): string {
  const x = v[name];
  if (typeof x !== 'string' || x === '') throw new UsageError(`--${name} is required`);
  return x;
}

function opt(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

/** `14d`, `12h`, `30m`, `45s`, `500ms` or plain milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`'${text}' is not a duration (e.g. 14d, 12h, 30m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

/** `8GiB`, `512MiB`, `8GB`, `100KB` or plain bytes (binary units either way). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (m === null) throw new UsageError(`'${text}' is not a size (e.g. 8GiB, 512MiB)`);
  const power = ' KMGT'.indexOf((m[2] ?? '').toUpperCase() || ' ');
  return Math.round(Number(m[1]) * 1024 ** power);
}

function writeConfig(path: string, text: string, secret = false): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode: secret ? 0o600 : 0o644 });
  if (secret) chmodSync(path, 0o600);
}

interface NodeSpec {
  name: string;
  host: string;
  client: number;
  route: number;
  leaf?: number;
}

function parseNodes(text: string): NodeSpec[] {
  return text.split(',').map((spec) => {
    const m = /^([A-Za-z0-9_-]+)=([^:\s]+)(?::(\d+))?(?::(\d+))?(?::(\d+))?$/.exec(spec.trim());
    if (m === null) throw new UsageError(`--nodes: '${spec}' is not name=host[:client[:route[:leaf]]]`);
    const [, name = '', host = '', client, route, leaf] = m;
    return {
      name,
      host,
      client: Number(client ?? 4222),
      route: Number(route ?? 6222),
      ...(leaf === undefined ? {} : { leaf: Number(leaf) }),
    };
  });
}

async function runConfig(kind: string | undefined, v: Values, io: CliIo): Promise<number> {
  const out = resolve(need(v, 'out'));
  const credsDir = resolve(opt(v, 'creds') ?? out);
  const tlsDir = resolve(opt(v, 'tls-dir') ?? join(credsDir, 'tls'));
  const authFile = join(credsDir, 'auth.conf');
  const maxFileStore = opt(v, 'max-file-store');
  if (kind === 'pilot') {
    const name = opt(v, 'name') ?? 'otwatch-pilot';
    const leafnodeListen = opt(v, 'leafnode-listen');
    const file = join(out, 'pilot.conf');
    writeConfig(
      file,
      renderPilotConfig({
        configDir: out,
        serverName: name,
        listen: opt(v, 'listen') ?? '0.0.0.0:4222',
        tlsDir,
        authFile,
        storeDir: opt(v, 'store') ?? join(out, 'jetstream'),
        ...(maxFileStore === undefined ? {} : { maxFileStore }),
        ...(leafnodeListen === undefined ? {} : { leafnodeListen }),
      }),
    );
    io.out(`wrote ${file}: nats-server -c ${file}`);
    return 0;
  }
  if (kind === 'cluster') {
    const nodes = parseNodes(need(v, 'nodes'));
    if (nodes.length < 3) throw new UsageError('--nodes: a JetStream cluster for R3 streams needs 3 nodes');
    const routes = nodes.map((n) => `${n.host}:${n.route}`);
    const store = resolve(opt(v, 'store') ?? join(out, 'jetstream'));
    for (const n of nodes) {
      const file = join(out, `${n.name}.conf`);
      writeConfig(
        file,
        renderClusterNodeConfig({
          configDir: out,
          serverName: n.name,
          listen: `${n.host}:${n.client}`,
          tlsDir,
          authFile,
          storeDir: join(store, n.name),
          clusterName: opt(v, 'cluster-name') ?? 'otwatch',
          routeListen: `${n.host}:${n.route}`,
          routes: routes.filter((r) => r !== `${n.host}:${n.route}`),
          ...(maxFileStore === undefined ? {} : { maxFileStore }),
          ...(n.leaf === undefined ? {} : { leafnodeListen: `${n.host}:${n.leaf}` }),
        }),
      );
      io.out(`wrote ${file}`);
    }
    return 0;
  }
  if (kind === 'leaf') {
    const province = need(v, 'province');
    const enterprise = need(v, 'enterprise');
    const entry = loadRegistry(credsDir).users.find((u) => u.role === 'leaf' && u.id === `${province}.${enterprise}`);
    if (entry === undefined || !('password' in entry.user)) {
      throw new Error(`no leafnode credentials for ${province}.${enterprise} in ${credsDir}: otdeploy creds leaf ...`);
    }
    const name = opt(v, 'name') ?? `leaf-${province}-${enterprise}`;
    const file = join(out, 'leafnode.conf');
    writeConfig(
      file,
      renderLeafnodeConfig({
        configDir: out,
        serverName: name,
        listen: opt(v, 'listen') ?? '0.0.0.0:4222',
        tlsDir,
        authFile,
        hubs: need(v, 'hub').split(','),
        leafUser: entry.user.user,
        leafPassword: entry.user.password,
      }),
      true,
    );
    io.out(`wrote ${file} (0600: it holds the leafnode password)`);
    return 0;
  }
  throw new UsageError(`unknown config kind '${kind ?? ''}' (pilot, cluster, leaf)`);
}

async function runStreamsEnsure(v: Values, io: CliIo): Promise<number> {
  const seedFile = need(v, 'creds');
  let inboxPrefix = opt(v, 'inbox-prefix');
  if (inboxPrefix === undefined) {
    try {
      const info = JSON.parse(readFileSync(join(dirname(seedFile), 'connect.json'), 'utf8')) as ConnectInfo;
      inboxPrefix = info.inboxPrefix;
    } catch {
      throw new UsageError(`no connect.json beside ${seedFile}: pass --inbox-prefix`);
    }
  }
  const ca = opt(v, 'ca');
  const nc = await connect({
    servers: need(v, 'nats-url').split(','),
    authenticator: nkeyAuthenticator(readSeedFile(seedFile)),
    inboxPrefix,
    ...(ca === undefined ? {} : { tls: { caFile: ca } }),
  });
  try {
    const limits = {
      maxAgeMs: parseDuration(opt(v, 'max-age') ?? `${DEFAULT_STREAM_LIMITS.maxAgeMs}`),
      maxBytes: parseSize(opt(v, 'max-bytes') ?? `${DEFAULT_STREAM_LIMITS.maxBytes}`),
      duplicateWindowMs: parseDuration(opt(v, 'duplicate-window') ?? `${DEFAULT_STREAM_LIMITS.duplicateWindowMs}`),
      replicas: Number(opt(v, 'replicas') ?? DEFAULT_STREAM_LIMITS.replicas),
    };
    if (!Number.isInteger(limits.replicas) || limits.replicas < 1 || limits.replicas > 5) {
      throw new UsageError('--replicas must be 1..5');
    }
    const result = await ensureStreams(await jetstreamManager(nc), limits);
    io.out(JSON.stringify({ ...result, limits }));
    return 0;
  } finally {
    await nc.close();
  }
}

/** Runs otdeploy with these arguments; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function runOtdeploy(argv: readonly string[], io: CliIo = STDIO): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === 'creds') return await runCreds(argv.slice(1), io);
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.out(USAGE);
      return command === undefined ? 2 : 0;
    }
    const { values } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: false, strict: true });
    const v = values as Values;
    if (v['help'] === true) {
      io.out(USAGE);
      return 0;
    }
    if (command === 'auth' && sub === 'render') {
      io.out(`wrote ${renderAuthFile(resolve(need(v, 'out')))}`);
      return 0;
    }
    if (command === 'tls' && sub === 'init') {
      const hosts = opt(v, 'hosts');
      const days = opt(v, 'days');
      const f = initTls(resolve(need(v, 'out')), {
        ...(hosts === undefined ? {} : { hosts: hosts.split(',').map((h) => h.trim()) }),
        ...(days === undefined ? {} : { days: Number(days) }),
        force: v['force'] === true,
      });
      io.out(`wrote ${f.caFile}, ${f.serverCertFile}, ${f.clientCertFile} (keys 0600 beside them)`);
      io.out(`  keep ${f.caKeyFile} off the servers once the certificates are made`);
      return 0;
    }
    if (command === 'config') return await runConfig(sub, v, io);
    if (command === 'streams' && sub === 'ensure') return await runStreamsEnsure(v, io);
    throw new UsageError(`unknown command '${[command, sub].filter(Boolean).join(' ')}'`);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`otdeploy: ${(err as Error).message}\n${USAGE}`);
      return 2;
    }
    io.err(`otdeploy: ${(err as Error).message}`);
    return 1;
  }
}
