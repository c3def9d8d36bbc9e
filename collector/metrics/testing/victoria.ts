/**
 * A real VictoriaMetrics (Debian's `victoria-metrics`) on a free loopback port with its own data dir, for the
 * metrics tests: it accepts the InfluxDB v2 write API at /api/v2/write (ignoring org and bucket, dropping string
 * fields) and is read back with PromQL (`nocache=1`, so a query never answers from a stale cache).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const VICTORIA_METRICS = process.env.OTWATCH_VICTORIA_METRICS ?? '/usr/bin/victoria-metrics';

export interface VictoriaHandle {
  url: string;
  /** Instant PromQL query: `[{metric, value}]`. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** Makes just-written samples searchable (VictoriaMetrics flushes its in-memory buffer every second or so). */
  settle(): Promise<void>;
  dispose(): Promise<void>;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startVictoriaMetrics(): Promise<VictoriaHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'otwatch-vm-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    VICTORIA_METRICS,
    [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir}`, '-search.disableCache', '-retentionPeriod=100y'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => {
    log = (log + c).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`victoria-metrics exited: ${log}`);
    const ok = await fetch(`${url}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
    if (i === 199) throw new Error(`victoria-metrics did not start: ${log}`);
  }
  return {
    url,
    async query(promql) {
      const res = await fetch(
        `${url}/api/v1/query?nocache=1&query=${encodeURIComponent(promql)}&time=${Date.now() / 1000}`,
      );
      const body = (await res.json()) as {
        status: string;
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
      return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async settle() {
      await fetch(`${url}/internal/force_flush`).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1500));
    },
    async dispose() {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
