/** The otdeploy command line as a process (bin/otdeploy.js), and the sensor config loader's errors. */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../tests/support/paths.ts';
import { parseDuration, parseSize } from './otdeploy.ts';
import { loadSensorConfig, SensorConfigError } from './sensor-config.ts';
import { tempDir } from './testing/fixtures.ts';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/otdeploy.js', ...args],
      { cwd: REPO_ROOT, encoding: 'utf8' },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : Number(err.code), stdout, stderr }),
    );
  });
}

const dir = tempDir('cli');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bin/otdeploy.js', () => {
  it('issues a sensor without printing its seed, prints it only with --print-seed, lists and revokes', async () => {
    const base = ['creds', 'sensor', '--province', 'gd', '--enterprise', 'e1', '--out', dir];
    const a = await run([...base, '--sensor', 'a']);
    expect(a.code).toBe(0);
    const seedA = readFileSync(join(dir, 'sensors', 'gd.e1.a', 'nkey.seed'), 'utf8').trim();
    expect(a.stdout + a.stderr).not.toContain(seedA);
    const b = await run([...base, '--sensor', 'b', '--print-seed']);
    const seedB = readFileSync(join(dir, 'sensors', 'gd.e1.b', 'nkey.seed'), 'utf8').trim();
    expect(b.stdout).toContain(`seed: ${seedB}`);
    const list = await run(['creds', 'list', '--out', dir]);
    expect(list.stdout.split('\n').filter((l) => l.startsWith('sensor'))).toHaveLength(2);
    const revoke = await run(['creds', 'revoke', '--sensor', 'a', '--out', dir]);
    expect(revoke.code).toBe(0);
    const auth = readFileSync(join(dir, 'auth.conf'), 'utf8');
    expect(auth).not.toContain('gd.e1.a');
    expect(auth).toContain('gd.e1.b');
    expect(statSync(join(dir, 'auth.conf')).mode & 0o777).toBe(0o600);
  });

  it('exits 2 on usage errors and 1 on failures', async () => {
    expect((await run(['creds', 'sensor', '--out', dir])).code).toBe(2);
    expect((await run(['nonsense'])).code).toBe(2);
    expect((await run(['creds', 'revoke', '--sensor', 'nobody', '--out', dir])).code).toBe(1);
    const bad = await run(['creds', 'sensor', '--province', 'g.d', '--enterprise', 'e', '--sensor', 's', '--out', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a valid subject token/);
  });
});

describe('loadSensorConfig', () => {
  it('names the file and the field that is wrong', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'sensor: s1\nprovince: gd\nenterprise: e1\nnats: { url: "http://x", nkeySeedFile: k }\n');
    expect(() => loadSensorConfig(file)).toThrow(SensorConfigError);
    expect(() => loadSensorConfig(file)).toThrow(`${file}: field 'nats.url'`);
    writeFileSync(file, 'sensor: s1\nprovince: gd\nenterprise: e1\nnats: { url: "nats://x:4222", nkeySeedFile: k }\n');
    expect(() => loadSensorConfig(file)).toThrow(`field 'outbox'`);
    writeFileSync(
      file,
      'sensor: s1\nprovince: gd\nenterprise: e1\nnats: { url: "nats://x:4222", nkeySeedFile: k }\noutbox: { dir: o, maxBytes: 10 }\n',
    );
    expect(() => loadSensorConfig(file)).toThrow(`field 'outbox.maxBytes'`);
    expect(() => loadSensorConfig(join(dir, 'missing.yaml'))).toThrow(/cannot be read/);
  });

  it('parses durations and sizes for streams ensure', () => {
    expect(parseDuration('14d')).toBe(14 * 86_400_000);
    expect(parseDuration('500')).toBe(500);
    expect(parseSize('8GiB')).toBe(8 * 1024 ** 3);
    expect(parseSize('64MB')).toBe(64 * 1024 ** 2);
    expect(() => parseSize('lots')).toThrow();
  });
});
