/**
 * Runs the real `otsensor` command (node bin/otsensor.js, from the repo root) as a child process and captures its
 * exit code, stdout and stderr. stdin/stdout/stderr are pipes, so the CLI sees no terminal.
 */
import { execFile } from 'node:child_process';
import { REPO_ROOT } from './paths.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runOtsensor(args: readonly string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['bin/otsensor.js', ...args],
      { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(new Error(`otsensor did not exit normally (${err.message}); stderr: ${stderr}`));
          return;
        }
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
  });
}
