/**
 * The lab: a simulated plant of real device software (lab/devices/*.mjs), an HMI polling it and an attacker
 * (lab/clients/*.mjs), either on loopback or in network namespaces joined by a bridge. Every process is started
 * detached, its PID recorded in `RUN_DIR/state.json` as soon as it exists, so `labDown` can stop exactly what
 * `labUp` started (by PID, after checking the PID still runs our script) even when `up` failed halfway.
 *
 * Namespace topology (`--netns`):
 *
 *   otlab-plc  eth0 10.77.0.10 (Modbus :502), .11 (S7 :102), .12 (OPC UA :4840) ── otlab0 ─┐
 *   otlab-hmi  eth0 10.77.0.20 ───────────────────────────────────────────────── otlab1 ─┼─ bridge otlabbr (no IP)
 *   otlab-atk  eth0 10.77.0.66 ───────────────────────────────────────────────── otlab2 ─┘
 *
 * `otlab0`, the host end of the PLCs' link, carries every conversation with a PLC and has no IP: the sensor
 * captures there as on a mirror port and sees distinct addresses for PLCs, HMI and attacker.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabStep } from './steps.ts';

const LAB_DIR = fileURLToPath(new URL('.', import.meta.url));

export interface LabTargets {
  modbus: { host: string; port: number };
  s7: { host: string; port: number };
  opcua: { url: string };
}

export interface LabProcess {
  name: string;
  pid: number;
  script: string;
  log: string;
}

export interface LabState {
  mode: 'loopback' | 'netns';
  /** Where a sensor captures the lab's traffic. */
  iface: string;
  targets: LabTargets;
  addresses: { plc: string[]; hmi: string; attacker: string };
  processes: LabProcess[];
  namespaces: string[];
  links: string[];
  startedAt: string;
}

export interface LabUpOptions {
  runDir?: string;
  netns?: boolean;
  /** OPC UA certificates (created at first start, reused: key generation is the slow part). */
  pkiDir?: string;
  /** Start the HMI poller (default true). */
  hmi?: boolean;
  /** How long to wait for each process to report ready (ms, default 45 000: node-opcua's first start is slow). */
  readyTimeoutMs?: number;
}

export const NS = { plc: 'otlab-plc', hmi: 'otlab-hmi', atk: 'otlab-atk' } as const;
export const BRIDGE = 'otlabbr';
export const CAPTURE_IFACE = 'otlab0';
const SUBNET = '10.77.0';

export function defaultRunDir(): string {
  return process.env.OTLAB_RUN_DIR ?? join(tmpdir(), 'otlab');
}

export function defaultPkiDir(): string {
  return process.env.OTLAB_PKI_DIR ?? join(tmpdir(), 'otlab-pki');
}

function statePath(runDir: string): string {
  return join(runDir, 'state.json');
}

export function readLabState(runDir = defaultRunDir()): LabState | null {
  const file = statePath(runDir);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as LabState;
}

function writeState(runDir: string, state: LabState): void {
  writeFileSync(statePath(runDir), `${JSON.stringify(state, null, 2)}\n`);
}

/** No IPv6 link-local address either: the host side of the lab stays silent, like a mirror port. */
function noIpv6(link: string): void {
  const knob = `/proc/sys/net/ipv6/conf/${link}/disable_ipv6`;
  if (existsSync(knob)) writeFileSync(knob, '1');
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Runs `argv` inside namespace `ns` (or directly when ns is null). */
function inNamespace(ns: string | null, argv: string[]): [string, string[]] {
  return ns === null ? [argv[0] as string, argv.slice(1)] : ['ip', ['netns', 'exec', ns, ...argv]];
}

function startProcess(runDir: string, ns: string | null, name: string, script: string, args: string[]): LabProcess {
  const log = join(runDir, `${name}.log`);
  const fd = openSync(log, 'w');
  const [cmd, argv] = inNamespace(ns, [process.execPath, join(LAB_DIR, script), ...args]);
  // `ip netns exec` execs node in place, so the PID is node's; detached gives it its own process group.
  const child = spawn(cmd, argv, { detached: true, stdio: ['ignore', fd, fd], cwd: LAB_DIR });
  child.unref();
  if (child.pid === undefined) throw new Error(`otlab: cannot start ${name}`);
  return { name, pid: child.pid, script, log };
}

function alive(p: LabProcess): boolean {
  try {
    // The PID must still be our script: never signal a process that reused the number. A zombie (exited, not yet
    // reaped by its parent) has an empty command line and counts as gone.
    return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes(p.script);
  } catch {
    return false;
  }
}

/**
 * True once the process has exited (gone, or a zombie). Not `alive`: right after the spawn, `ip netns exec` is
 * exec'ing node in place, and while the process image is being replaced its command line reads empty, so `alive`
 * said "exited" of a process that was starting (the lab e2e test failed with "hmi exited" and an empty log).
 */
function exited(p: LabProcess): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${p.pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function waitReady(p: LabProcess, marker: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = existsSync(p.log) ? readFileSync(p.log, 'utf8') : '';
    if (text.includes(marker)) return;
    if (exited(p)) throw new Error(`otlab: ${p.name} exited:\n${text.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`otlab: ${p.name} not ready in ${timeoutMs} ms:\n${readFileSync(p.log, 'utf8').slice(-2000)}`);
}

function buildNetwork(state: LabState, runDir: string): void {
  ip('link', 'add', BRIDGE, 'type', 'bridge');
  state.links.push(BRIDGE);
  writeState(runDir, state);
  noIpv6(BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
  const ends: [string, string, string[]][] = [
    [NS.plc, 'otlab0', state.addresses.plc],
    [NS.hmi, 'otlab1', [state.addresses.hmi]],
    [NS.atk, 'otlab2', [state.addresses.attacker]],
  ];
  for (const [ns, hostEnd, addrs] of ends) {
    ip('netns', 'add', ns);
    state.namespaces.push(ns);
    writeState(runDir, state);
    ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    // Deleted by name on the way down: a namespace's deletion removes its veth pairs too, but later, in a kernel
    // work queue, and `otlab down` must leave no link behind when it returns.
    state.links.push(hostEnd);
    writeState(runDir, state);
    noIpv6(hostEnd);
    ip('link', 'set', hostEnd, 'master', BRIDGE);
    ip('link', 'set', hostEnd, 'up');
    for (const a of addrs) ip('-n', ns, 'addr', 'add', `${a}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
  }
}

/** Starts the lab; on failure stops whatever it started and rethrows. */
export async function labUp(options: LabUpOptions = {}): Promise<LabState> {
  const runDir = options.runDir ?? defaultRunDir();
  const pki = options.pkiDir ?? defaultPkiDir();
  const netns = options.netns === true;
  const timeout = options.readyTimeoutMs ?? 45_000;
  mkdirSync(runDir, { recursive: true });
  mkdirSync(pki, { recursive: true });
  const existing = readLabState(runDir);
  if (existing !== null) throw new Error(`otlab: a lab is already up (${statePath(runDir)}); run 'otlab down' first`);
  const plc = netns ? [`${SUBNET}.10`, `${SUBNET}.11`, `${SUBNET}.12`] : ['127.0.0.1', '127.0.0.1', '127.0.0.1'];
  const state: LabState = {
    mode: netns ? 'netns' : 'loopback',
    iface: netns ? CAPTURE_IFACE : 'lo',
    targets: {
      modbus: { host: plc[0] as string, port: netns ? 502 : 15020 },
      s7: { host: plc[1] as string, port: netns ? 102 : 11102 },
      opcua: { url: `opc.tcp://${plc[2]}:${netns ? 4840 : 14840}` },
    },
    addresses: netns
      ? { plc, hmi: `${SUBNET}.20`, attacker: `${SUBNET}.66` }
      : { plc, hmi: '127.0.0.1', attacker: '127.0.0.1' },
    processes: [],
    namespaces: [],
    links: [],
    startedAt: new Date().toISOString(),
  };
  writeState(runDir, state);
  try {
    if (netns) buildNetwork(state, runDir);
    const plcNs = netns ? NS.plc : null;
    const t = state.targets;
    const devices: [string, string, string[], string][] = [
      ['modbus-plc', 'devices/modbus-plc.mjs', [t.modbus.host, String(t.modbus.port)], 'listening'],
      ['s7-plc', 'devices/s7-plc.mjs', [t.s7.host, String(t.s7.port)], 'listening'],
      ['opcua-plc', 'devices/opcua-plc.mjs', [plc[2] as string, String(netns ? 4840 : 14840), pki], 'listening'],
    ];
    const started: [LabProcess, string][] = [];
    for (const [name, script, args, marker] of devices) {
      const p = startProcess(runDir, plcNs, name, script, args);
      state.processes.push(p);
      writeState(runDir, state);
      started.push([p, marker]);
    }
    for (const [p, marker] of started) await waitReady(p, marker, timeout);
    if (options.hmi !== false) {
      const hmi = startProcess(runDir, netns ? NS.hmi : null, 'hmi', 'clients/hmi.mjs', [JSON.stringify(t), pki]);
      state.processes.push(hmi);
      writeState(runDir, state);
      await waitReady(hmi, 'polling', timeout);
    }
    return state;
  } catch (err) {
    await labDown({ runDir });
    throw err;
  }
}

export interface AttackResult {
  code: number;
  stdout: string;
  stderr: string;
  startedAt: number;
  endedAt: number;
}

/** Runs one attack step from the attacker's namespace (or loopback) and waits for it to finish. */
export async function labAttack(step: LabStep, options: { runDir?: string } = {}): Promise<AttackResult> {
  const state = readLabState(options.runDir ?? defaultRunDir());
  if (state === null) throw new Error("otlab: no lab is up; run 'otlab up' first");
  const [cmd, argv] = inNamespace(state.mode === 'netns' ? NS.atk : null, [
    process.execPath,
    join(LAB_DIR, 'clients/attack.mjs'),
    step,
    JSON.stringify(state.targets),
  ]);
  const startedAt = Date.now();
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  // node-opcua keeps timers alive after disconnect in some versions; the script exits itself, this is the backstop.
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  clearTimeout(timer);
  return { code, stdout, stderr, startedAt, endedAt: Date.now() };
}

export interface DownResult {
  stopped: string[];
  namespaces: string[];
}

/** Stops every recorded process (SIGTERM, SIGKILL after 5 s), removes namespaces and the bridge, drops the state. */
export async function labDown(options: { runDir?: string } = {}): Promise<DownResult> {
  const runDir = options.runDir ?? defaultRunDir();
  const state = readLabState(runDir);
  const result: DownResult = { stopped: [], namespaces: [] };
  if (state === null) return result;
  const running = state.processes.filter(alive);
  for (const p of running) {
    try {
      process.kill(-p.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 5000;
  while (running.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const p of running.filter(alive)) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // exited between the check and the signal
    }
  }
  result.stopped = running.map((p) => p.name);
  // Links first, newest first (veth host ends, then the bridge): deleting a veth end deletes its pair at once.
  for (const link of [...state.links].reverse()) {
    try {
      ip('link', 'del', link);
    } catch {
      // not there any more
    }
  }
  for (const ns of state.namespaces) {
    try {
      ip('netns', 'del', ns);
      result.namespaces.push(ns);
    } catch {
      // not there any more
    }
  }
  rmSync(statePath(runDir), { force: true });
  return result;
}
