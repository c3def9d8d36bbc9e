/**
 * Test helper: runs `nats-server -c FILE` on a rendered deploy config (the tests/support harness writes its own
 * listen/jetstream lines, which these configs already have), waits for readiness, stops it by its own PID.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';

export interface NatsProcess {
  readonly pid: number;
  log(): string;
  /** Resolves when the log contains `text` (or rejects after `timeoutMs`). */
  waitForLog(text: string | RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function runNatsServer(configFile: string, readyTimeoutMs = 10_000): Promise<NatsProcess> {
  const proc: ChildProcess = spawn('nats-server', ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  const waiters: { test: (s: string) => boolean; resolve: () => void }[] = [];
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    text += chunk;
    if (text.length > 200_000) text = text.slice(-100_000);
    for (const w of waiters.splice(0)) {
      if (w.test(text)) w.resolve();
      else waiters.push(w);
    }
  });
  const waitForLog = (what: string | RegExp, timeoutMs = 10_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const test = (s: string): boolean => (typeof what === 'string' ? s.includes(what) : what.test(s));
      if (test(text)) {
        resolve();
        return;
      }
      const timer = setTimeout(() => reject(new Error(`nats-server log lacks ${String(what)}:\n${text}`)), timeoutMs);
      waiters.push({
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const failed = exited.then(() => {
    throw new Error(`nats-server -c ${configFile} exited with ${proc.exitCode}:\n${text}`);
  });
  await Promise.race([waitForLog('Server is ready', readyTimeoutMs), failed]);
  failed.catch(() => undefined);
  const pid = proc.pid ?? 0;
  return {
    pid,
    log: () => text,
    waitForLog,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, 'SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** `nats-server -t -c FILE`: config test mode; resolves with the exit code and output. */
export function testNatsConfig(configFile: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('nats-server', ['-t', '-c', configFile], { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
