/**
 * The lab end to end (root: network namespaces): `labUp --netns` starts the real device software, the HMI and the
 * bridge; a sensor captures live on the host-side interface otlab0 while the lab drill scenario runs every attack
 * step into a real collector; every step must raise its rule, from the attacker's address to the right PLC; the HMI's
 * benign polling must raise nothing; `otlab down` must leave no namespace, link or process behind.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTable } from '../collector/drill/report.ts';
import type { DrillReport } from '../collector/drill/runner.ts';
import { type DrillChain, startDrillChain } from '../collector/drill/testing/harness.ts';
import { REPO_ROOT } from '../tests/support/paths.ts';
import { CAPTURE_IFACE, defaultPkiDir, type LabState, labDown, labUp, NS, readLabState } from './lab.ts';
import { LAB_STEPS } from './steps.ts';

const isRoot = process.getuid?.() === 0;
const runDir = mkdtempSync(join(tmpdir(), 'otlab-test-'));
let chain: DrillChain;
let state: LabState;

function namespaces(): string {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
}

/** Running: /proc entry present and not a zombie (exited, waiting for its parent - this test - to reap it). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function links(): string {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
}

beforeAll(async () => {
  if (!isRoot) return; // namespaces need root; the suite below is skipped then
  // Reuse the OPC UA certificates of earlier runs (key generation is the slow part of node-opcua's start).
  // Settled one by one: when one start fails, the other's handle must still reach afterAll (a chain whose handle was
  // lost left its nats-server running after the test).
  const [started, up] = await Promise.allSettled([
    startDrillChain(),
    labUp({ runDir, netns: true, pkiDir: defaultPkiDir() }),
  ]);
  if (started.status === 'fulfilled') chain = started.value;
  if (up.status === 'fulfilled') state = up.value;
  for (const r of [started, up]) if (r.status === 'rejected') throw r.reason;
}, 120_000);

afterAll(async () => {
  await labDown({ runDir });
  await chain?.stop();
  rmSync(runDir, { recursive: true, force: true });
});

describe.runIf(isRoot)('otlab in network namespaces', () => {
  it('comes up: three namespaces, a capture interface without an address, devices and HMI running', () => {
    const ns = namespaces();
    for (const n of Object.values(NS)) expect(ns).toContain(n);
    expect(state.iface).toBe(CAPTURE_IFACE);
    expect(execFileSync('ip', ['-o', 'addr', 'show', 'dev', CAPTURE_IFACE], { encoding: 'utf8' })).not.toMatch(/inet/);
    expect(state.processes.map((p) => p.name)).toEqual(['modbus-plc', 's7-plc', 'opcua-plc', 'hmi']);
    for (const p of state.processes) expect(running(p.pid)).toBe(true);
    expect(new Set([...state.addresses.plc, state.addresses.hmi, state.addresses.attacker]).size).toBe(5);
  });

  it('live capture on otlab0: each attack step raises its rule and the lab drill passes', async () => {
    // An independent sensor printing alerts, next to the drill's own publishing sensor on the same interface.
    const sensor: ChildProcess = spawn(
      process.execPath,
      ['bin/otsensor.js', 'live', '--iface', state.iface, '--alerts'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let alertsText = '';
    let sensorLog = '';
    sensor.stdout?.setEncoding('utf8').on('data', (c: string) => {
      alertsText += c;
    });
    sensor.stderr?.setEncoding('utf8').on('data', (c: string) => {
      sensorLog += c;
    });
    for (let i = 0; i < 150 && !sensorLog.includes('capturing on'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(sensorLog).toContain('capturing on');

    const drill = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          'bin/otcollector.js',
          'drill',
          'drills/lab-plant.yaml',
          '--collector',
          chain.collectorUrl,
          '--token',
          chain.token,
          '--nats',
          chain.natsUrl,
          '--lab-run-dir',
          runDir,
          '--warn-timeout',
          '0',
          '--json',
        ],
        { cwd: REPO_ROOT },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        stdout += c;
      });
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
      });
      child.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
    await new Promise((r) => setTimeout(r, 1000));
    const sensorExit = new Promise((r) => sensor.once('exit', r));
    sensor.kill('SIGINT');
    await sensorExit;

    expect(drill.code, drill.stderr).toBe(0);
    const report = JSON.parse(drill.stdout) as DrillReport;
    console.info(formatTable(report));
    expect(report.passed).toBe(true);
    expect(report.leakedIntoRealView).toBe(0);
    expect(report.steps).toHaveLength(6);
    for (const step of report.steps) {
      expect(step.alert?.ruleId).toBe(step.expect.rule);
      expect(step.bulletin.state, step.name).toBe('found');
      expect(step.warning.state).not.toBe('error');
    }

    type Alert = { client: { ip: string }; server: { ip: string }; alert: { rule: { id: string } } };
    const alerts = alertsText
      .split('\n')
      .filter((l) => l.startsWith('{"v":1,"kind":"alert"'))
      .map((l) => JSON.parse(l) as Alert);
    const target: Record<string, string> = { modbus: state.targets.modbus.host, s7: state.targets.s7.host };
    for (const [step, s] of Object.entries(LAB_STEPS)) {
      const hits = alerts.filter((a) => a.alert.rule.id === s.rule);
      expect(hits.length, `${step} → ${s.rule}`).toBeGreaterThan(0);
      for (const a of hits) {
        expect(a.client.ip).toBe(state.addresses.attacker);
        const proto = step.split('-')[0] as string;
        expect(a.server.ip).toBe(target[proto] ?? state.addresses.plc[2]);
      }
    }
    // The HMI's polling is benign: nothing it does is alerted on. Only its own certificate may be reported (the
    // informational self-signed posture finding, true of the lab HMI), when the sensor happens to see it open a secure
    // channel: a node-opcua reconnect or token renewal while the machine is loaded.
    const fromHmi = alerts.filter(
      (a) => a.client.ip === state.addresses.hmi && a.alert.rule.id !== 'ot.opcua.self_signed_certificate',
    );
    expect(fromHmi, JSON.stringify(fromHmi, null, 1).slice(0, 4000)).toHaveLength(0);
  }, 180_000);

  it('otlab down leaves no namespace, link or process behind', async () => {
    const pids = state.processes.map((p) => p.pid);
    const result = await labDown({ runDir });
    expect(result.stopped.sort()).toEqual(['hmi', 'modbus-plc', 'opcua-plc', 's7-plc']);
    expect(result.namespaces.sort()).toEqual(Object.values(NS).sort());
    const ns = namespaces();
    for (const n of Object.values(NS)) expect(ns).not.toContain(n);
    expect(links()).not.toMatch(/otlab/);
    for (const pid of pids) expect(running(pid), `pid ${pid}`).toBe(false);
    expect(readLabState(runDir)).toBeNull();
  }, 30_000);
});
