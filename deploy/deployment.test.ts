/**
 * Deployment checks that can run here: the systemd units parse cleanly (`systemd-analyze verify`), and the sensor
 * captures live as an unprivileged user holding only CAP_NET_RAW (what otsensor@.service grants), while the same
 * user without the capability gets a clear error, not a crash.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, VethPair } from '../sensor/capture/testing/live-harness.ts';

const ROOT = join(import.meta.dirname, '..');

describe('systemd units', () => {
  it.each(['otcollector.service', 'otsensor@.service'])('%s passes systemd-analyze verify with no warning', (unit) => {
    const dir = mkdtempSync(join(tmpdir(), 'otwatch-units-'));
    try {
      // A template unit is verified as an instance.
      const name = unit.replace('@.service', '@hall3.service');
      copyFileSync(join(ROOT, 'deploy/systemd', unit), join(dir, name));
      const r = spawnSync('systemd-analyze', ['verify', join(dir, name)], { encoding: 'utf8' });
      const problems = `${r.stdout}${r.stderr}`
        .split('\n')
        .filter((l) => l.includes(name) || /Unknown|Failed|ignoring/i.test(l));
      expect(problems).toEqual([]);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Runs `otsensor live` as user `nobody`, with CAP_NET_RAW as an ambient capability or with none. */
function liveAsNobody(iface: string, withCap: boolean, seconds: number) {
  const caps = withCap ? ['--inh-caps=+net_raw', '--ambient-caps=+net_raw'] : ['--inh-caps=-all'];
  const child = spawn(
    'setpriv',
    [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      ...caps,
      process.execPath,
      'bin/otsensor.js',
      'live',
      '--iface',
      iface,
      '--duration',
      String(seconds),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: '/tmp' } },
  );
  let stdout = '';
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
    if (stderr.includes('capturing on')) onReady();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { done, ready, stop: () => child.kill('SIGINT') };
}

describe.runIf(isRoot)('live capture without root (CAP_NET_RAW only)', () => {
  const veth = new VethPair('cap');
  beforeAll(() => {
    veth.up();
    // The repository must be readable by `nobody` (it is in CI and here: world-readable checkout).
    execFileSync('test', ['-r', join(ROOT, 'bin/otsensor.js')]);
  });
  afterAll(() => veth.down());

  it('captures and decodes real Modbus traffic as user nobody with only CAP_NET_RAW', async () => {
    const sensor = liveAsNobody(veth.capIf, true, 60);
    await sensor.ready; // the capture is open before the replay starts
    await veth.replay(join(ROOT, 'tests/peers/mbpoll_1502.pcap'), ['--pps', '2000']);
    await new Promise((r) => setTimeout(r, 500));
    sensor.stop(); // Ctrl-C: the sensor prints its report and exits 0
    const { code, stdout, stderr } = await sensor.done;
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as { modbus: { pdus: number }; frames: number };
    expect(report.frames).toBeGreaterThan(0);
    expect(report.modbus.pdus).toBeGreaterThan(0);
  }, 60_000);

  it('the same user without the capability gets a clear permission error and exit 1', async () => {
    const { code, stderr } = await liveAsNobody(veth.capIf, false, 2).done;
    expect(code).toBe(1);
    expect(stderr).toMatch(/permission|Operation not permitted|CAP_NET_RAW/i);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  }, 60_000);
});
