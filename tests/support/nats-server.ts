/**
 * A real `nats-server` (Debian package) for integration tests: started on a free loopback port with JetStream and a
 * private store directory, stopped and restarted on demand (outage tests), always killed by its own PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerOptions {
  /** Extra configuration text (authorization, tls, ...), written to a config file with listen/jetstream added. */
  config?: string;
  /** Fixed port (a restart reuses the first run's port); default: a free one. */
  port?: number;
  /** JetStream store directory; default: a fresh temporary one (kept across restarts of this handle). */
  storeDir?: string;
}

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly configFile: string;
  /** The running server's process id (undefined while stopped): benchmarks read its CPU time from /proc. */
  readonly pid: number | undefined;
  /** Last lines the server wrote (for failure messages). */
  log(): string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  start(): Promise<void>;
  /** Stops it and removes its store directory. */
  dispose(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const port = options.port ?? (await freePort());
  const ownStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'otwatch-nats-'));
  mkdirSync(storeDir, { recursive: true });
  const configFile = join(storeDir, 'server.conf');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:${port}"\nserver_name: test_${port}\njetstream { store_dir: ${JSON.stringify(join(storeDir, 'js'))} }\n${options.config ?? ''}\n`,
  );
  let child: ChildProcess | null = null;
  let lines: string[] = [];

  const start = async (): Promise<void> => {
    lines = [];
    const proc = spawn('nats-server', ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server not ready in 10 s:\n${lines.join('\n')}`)), 10_000);
      proc.stderr?.setEncoding('utf8');
      proc.stderr?.on('data', (chunk: string) => {
        lines.push(...chunk.split('\n').filter(Boolean));
        if (lines.length > 200) lines = lines.slice(-200);
        if (chunk.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}:\n${lines.join('\n')}`));
      });
    });
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (proc === null || proc.exitCode !== null || proc.pid === undefined) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    process.kill(proc.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (proc.pid !== undefined && proc.exitCode === null) process.kill(proc.pid, 'SIGKILL');
    }, 5000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    configFile,
    get pid() {
      return child?.pid;
    },
    log: () => lines.join('\n'),
    stop,
    start,
    dispose: async () => {
      await stop();
      if (ownStore) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
