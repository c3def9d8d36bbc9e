/**
 * Test-only: a real collector chain for drill tests — nats-server (Debian package) with the streams, a SQLite store
 * with the three demo enterprises and their sensors, a province-admin token, and the real `otcollector serve`
 * process on a free port. Everything is stopped by its own handle in `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStreams } from '../../../tests/support/jetstream.ts';
import { freePort, type NatsServerHandle, startNatsServer } from '../../../tests/support/nats-server.ts';
import { REPO_ROOT } from '../../../tests/support/paths.ts';
import { openStore } from '../../store/open.ts';

export interface DrillChain {
  natsUrl: string;
  collectorUrl: string;
  token: string;
  dir: string;
  /** GET /api/v1 PATH with the token. */
  get<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

const ENTERPRISES = [
  ['gz-chem-01', '广州某化工有限公司', '广州', '化工'],
  ['sz-power-02', '深圳某电力有限公司', '深圳', '电力'],
  ['fs-mfg-03', '佛山某制造有限公司', '佛山', '制造'],
] as const;

export async function startDrillChain(): Promise<DrillChain> {
  const dir = mkdtempSync(join(tmpdir(), 'otdrill-test-'));
  const storeUrl = `sqlite:${join(dir, 'collector.db')}`;
  const store = await openStore(storeUrl);
  await store.migrate();
  for (const [id, name, city, industry] of ENTERPRISES) {
    await store.upsertEnterprise({
      id,
      name,
      province: 'gd',
      city,
      industry,
      class: 'networked_industrial',
      // gz-chem-01 declares grade 3: a high alert there raises the bundled grade-3 warning (data/warnings).
      grade: id === 'gz-chem-01' ? 3 : 2,
      contacts: [],
      maintenanceWindows: [],
    });
    await store.upsertSensor({ id: `${id}-s1`, enterpriseId: id, name: 'mirror port 1' });
  }
  const { secret } = await store.createToken({
    label: 'drill',
    role: 'province-admin',
    province: 'gd',
    enterprises: [],
  });
  await store.close();

  let nats: NatsServerHandle | null = null;
  let child: ChildProcess | null = null;
  try {
    nats = await startNatsServer();
    await createStreams(nats.url);
    const port = await freePort();
    const proc = spawn(
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
        '5',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    let log = '';
    proc.stderr?.setEncoding('utf8').on('data', (c: string) => {
      log += c;
    });
    for (let i = 0; i < 300 && !log.includes('API listening'); i++) {
      if (proc.exitCode !== null) throw new Error(`otcollector exited: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!log.includes('API listening')) throw new Error(`otcollector did not start: ${log}`);
    const collectorUrl = `http://127.0.0.1:${port}`;
    const natsHandle = nats;
    return {
      natsUrl: nats.url,
      collectorUrl,
      token: secret,
      dir,
      async get<T>(path: string): Promise<T> {
        const res = await fetch(`${collectorUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${secret}` } });
        if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
        return (await res.json()) as T;
      },
      async stop() {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
        await natsHandle.dispose();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    child?.kill('SIGKILL');
    await nats?.dispose();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
