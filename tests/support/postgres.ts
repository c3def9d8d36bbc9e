/**
 * A real PostgreSQL server (Debian's `postgresql` package) for integration tests: a private cluster in a temporary
 * directory on a free loopback port, run as the `postgres` user when the tests run as root (the server refuses
 * root), stopped and removed on dispose. Each `createDatabase()` gives a fresh, empty database URL.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './nats-server.ts';

export interface PostgresHandle {
  readonly port: number;
  readonly dir: string;
  /** A new empty database; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** The server's log so far (for failure messages). */
  log(): string;
  /** The postmaster's process id (the first line of its `postmaster.pid`); its backends are its children. */
  serverPid(): number;
  /** Stops the server and removes its directory. */
  dispose(): Promise<void>;
}

/** The newest installed server's bin directory, or null when PostgreSQL is not installed. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  const newest = versions[0];
  return newest === undefined ? null : join(root, newest, 'bin');
}

export interface StartPostgresOptions {
  /** Extra `-c name=value` server settings (e.g. `fsync=off` for speed in tests that do not measure). */
  settings?: Record<string, string>;
}

let databaseCounter = 0;

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresHandle> {
  const bin = postgresBinDir();
  if (bin === null) {
    throw new Error('PostgreSQL server not installed: apt-get install -y postgresql (needs /usr/lib/postgresql/*/bin)');
  }
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'otwatch-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  // As root the server tools run as `postgres` (they refuse root); otherwise as the current user.
  const run = (tool: string, args: string[]): void => {
    const command = asRoot ? 'runuser' : join(bin, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
    const result = spawnSync(command, argv, { encoding: 'utf8', cwd: dir });
    if (result.status !== 0) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      throw new Error(`${tool} failed (${result.status}): ${result.stderr}${result.stdout}\n${log}`);
    }
  };

  const port = await freePort();
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    const settings = Object.entries(options.settings ?? {})
      .map(([k, v]) => ` -c ${k}=${v}`)
      .join('');
    run('pg_ctl', ['-D', data, '-l', logFile, '-o', `-p ${port} -k ${dir} -h 127.0.0.1${settings}`, '-w', 'start']);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    port,
    dir,
    async createDatabase(name?: string): Promise<string> {
      const db = name ?? `t${process.pid}_${++databaseCounter}`;
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${db.replace(/"/g, '')}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${db}`;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    serverPid: () => Number.parseInt(readFileSync(join(data, 'postmaster.pid'), 'utf8'), 10),
    async dispose(): Promise<void> {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
