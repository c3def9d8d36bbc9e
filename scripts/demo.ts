/**
 * The main job (`./scripts/start.sh`): the whole chain on one machine. Starts a local nats-server (JetStream, loopback
 * only), the collector on SQLite, registers three demo enterprises (samples/demo/enterprises.csv) with a sensor each,
 * issues a sign-in token per role, and replays the bundled captures through one sensor per enterprise, publishing to
 * the collector. Then it prints the dashboard URL, the tokens and what arrived, and keeps running until Ctrl-C, when
 * it stops everything it started (by PID) and removes its temporary directory.
 *
 * The captures are the project's own, recorded with real peers (samples/README.md, tests/peers/).
 *
 *   node bin/run-ts.js scripts/demo.ts [--port 8080] [--check]
 *   --check: verify that every enterprise's alerts and assets arrived, print the result, stop and exit (0/1).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseEnterpriseCsv } from '../collector/api/enterprise-import.ts';
import { openStore } from '../collector/store/open.ts';
import type { Role } from '../collector/store/types.ts';
import { createStreams } from '../tests/support/jetstream.ts';
import { freePort, startNatsServer } from '../tests/support/nats-server.ts';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({ options: { port: { type: 'string' }, check: { type: 'boolean', default: false } } });

/** Which of our captures each demo enterprise's sensor replays. */
const SENSORS: { enterprise: string; sensor: string; captures: string[] }[] = [
  { enterprise: 'gz-chem-01', sensor: 'gz-chem-01-s1', captures: ['samples/plant-sample.pcap'] },
  {
    enterprise: 'sz-power-02',
    sensor: 'sz-power-02-s1',
    captures: ['tests/peers/s7/snap7_1102.pcap', 'tests/peers/s7/nodes7_1103.pcap'],
  },
  {
    enterprise: 'fs-mfg-03',
    sensor: 'fs-mfg-03-s1',
    captures: [
      'tests/peers/mbpoll_1502.pcap',
      'tests/peers/pymodbus_502.pcap',
      'tests/peers/modbus-serial_5020.pcap',
      'tests/peers/opcua/node-opcua_48010.pcap',
    ],
  },
];

const say = (line: string) => process.stdout.write(`${line}\n`);
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'otwatch-demo-'));

async function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => {
    stderr += c;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stderr };
}

async function portOrFree(wanted: number): Promise<number> {
  const { createServer } = await import('node:net');
  return await new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => void freePort().then(resolve));
    server.listen(wanted, '127.0.0.1', () => server.close(() => resolve(wanted)));
  });
}

async function main(): Promise<number> {
  const nats = await startNatsServer({ storeDir: join(dir, 'nats') });
  const cleanup = async () => {
    for (const c of children) if (c.exitCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    await nats.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await createStreams(nats.url);
    say(`nats-server (JetStream) on ${nats.url}`);
    const storeUrl = `sqlite:${join(dir, 'collector.db')}`;
    const store = await openStore(storeUrl);
    await store.migrate();
    const csv = parseEnterpriseCsv(readFileSync(join(ROOT, 'samples/demo/enterprises.csv'), 'utf8'));
    if (csv.errors.length > 0) throw new Error(`demo enterprises: ${JSON.stringify(csv.errors)}`);
    for (const { enterprise } of csv.rows) {
      await store.upsertEnterprise({ ...enterprise, contacts: enterprise.contacts ?? [], maintenanceWindows: [] });
    }
    for (const s of SENSORS) await store.upsertSensor({ id: s.sensor, enterpriseId: s.enterprise, name: '镜像口 1' });
    const tokens: { role: Role; label: string; province?: string; enterprises?: string[] }[] = [
      { role: 'province-admin', label: '省级管理员 (demo)', province: 'gd' },
      { role: 'province-analyst', label: '省级分析员 (demo)', province: 'gd' },
      { role: 'enterprise', label: '广州某化工 (demo)', enterprises: ['gz-chem-01'] },
      { role: 'assessor', label: '定级核查评估员 (demo)', enterprises: ['sz-power-02', 'fs-mfg-03'] },
    ];
    const secrets: string[] = [];
    for (const t of tokens) {
      const { secret } = await store.createToken({
        label: t.label,
        role: t.role,
        province: t.province ?? null,
        enterprises: t.enterprises ?? [],
      });
      secrets.push(`  ${t.role.padEnd(17)} ${secret}   (${t.label})`);
    }
    await store.close();

    const port = await portOrFree(Number(values.port ?? 8080));
    const collector = spawn(
      process.execPath,
      [
        'bin/otcollector.js',
        'serve',
        '--nats',
        nats.url,
        '--store',
        storeUrl,
        '--port',
        String(port),
        '--evaluate-interval',
        '10',
      ],
      { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    children.push(collector);
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 200; i++) {
      if ((await fetch(`${base}/healthz`).catch(() => null))?.ok) break;
      if (collector.exitCode !== null) throw new Error('the collector did not start');
      await new Promise((r) => setTimeout(r, 100));
    }

    for (const s of SENSORS) {
      const result = await run([
        'bin/otsensor.js',
        'read',
        ...s.captures,
        '--publish',
        nats.url,
        '--province',
        'gd',
        '--enterprise',
        s.enterprise,
        '--sensor-id',
        s.sensor,
        '--outbox',
        join(dir, `outbox-${s.sensor}`),
        // The captures were recorded once; moved to end now, the demo's alerts fall in the dashboard's recent
        // periods and the warning rules' windows whenever it runs.
        '--retime',
      ]);
      const line = /published .*/.exec(result.stderr)?.[0] ?? result.stderr.trim();
      say(`sensor ${s.sensor} (${s.enterprise}): ${line}`);
      if (result.code !== 0) throw new Error(`sensor ${s.sensor} failed: ${result.stderr}`);
    }

    // What arrived, per enterprise, through the API as the province admin sees it.
    const admin = secrets[0]?.trim().split(/\s+/)[1] ?? '';
    const get = async (path: string) =>
      (await (await fetch(`${base}/api/v1${path}`, { headers: { authorization: `Bearer ${admin}` } })).json()) as {
        items?: unknown[];
        rows?: { key: string; count: number }[];
      };
    let ok = true;
    for (let i = 0; i < 50; i++) {
      const h = (await (await fetch(`${base}/healthz`)).json()) as { ingest: { pending: number | null } };
      if (h.ingest.pending === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const s of SENSORS) {
      const levels = await get(`/aggregates/alerts?by=level&enterprise=${s.enterprise}`);
      const assets = await get(`/enterprises/${s.enterprise}/assets`);
      const byLevel = (levels.rows ?? []).map((r) => `${r.key} ${r.count}`).join(', ');
      say(`  ${s.enterprise}: alerts ${byLevel || 'none'}; assets ${assets.items?.length ?? 0}`);
      if ((levels.rows ?? []).length === 0 || (assets.items?.length ?? 0) === 0) ok = false;
    }
    const page = await fetch(`${base}/`).catch(() => null);
    const html = page?.ok ? await page.text() : '';
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const bundle = script ? await fetch(`${base}${script}`).catch(() => null) : null;
    if (!bundle?.ok) ok = false;
    say(
      `  dashboard: ${page?.status ?? 'no answer'} ${page?.ok && bundle?.ok ? `(page and ${script} served)` : '(NOT served)'}`,
    );
    say('');
    say(`Dashboard: ${base}/   (API docs: ${base}/docs)`);
    say('Sign-in tokens (one per role):');
    for (const line of secrets) say(line);
    if (values.check) {
      say(
        ok ? 'check: every enterprise has alerts and assets' : 'check: FAILED, an enterprise has no alerts or assets',
      );
      return ok ? 0 : 1;
    }
    say('Running; Ctrl-C stops everything.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return 0;
  } finally {
    await cleanup();
  }
}

process.exitCode = await main();
