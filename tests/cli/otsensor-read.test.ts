/**
 * `otsensor read` as a user runs it: the real command (node bin/otsensor.js) in a child process, checked on its
 * output contract — JSON on stdout, one-line human errors on stderr, exit 0 (all inputs whole) / 1 (an input damaged
 * or unreadable, everything before the damage still counted) / 2 (usage). Damaged inputs are written to a temp dir
 * from the real captures in ../shared/pcaps; record counts before a cut come from our own walk of the pcap record
 * headers (tests/support/pcap-records.ts), not from the sensor's reader.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_KINDS } from '../../protocols/wire/events.ts';
import { type CliResult, runOtsensor } from '../support/cli.ts';
import { REPO_ROOT, SHARED_PCAPS } from '../support/paths.ts';
import { completeRecordsBefore, pcapRecordSpans } from '../support/pcap-records.ts';

const SMALL = join(SHARED_PCAPS, 'zeek__modbusSmall.pcap');
const OTHER = join(SHARED_PCAPS, 'icsnpp-modbus__modbus_example.pcap');
/** 1.2 MB: bigger than the reader's 1 MiB chunk, so a cut past 1 MiB lands after a buffer refill. */
const BIG = join(SHARED_PCAPS, 'zeek__modbusBig.pcap');

interface FileReport {
  file: string;
  format?: string;
  frames: number;
  modbus: { pdus: number; transactions: number };
  health: Record<string, unknown>;
  error?: { code: string; message: string; byteOffset: number | null };
}
interface Summary {
  frames: number;
  modbus: { pdus: number; requests: number; responses: number; transactions: number };
  files: FileReport[];
  failed: number;
}

let tmp = '';
/** Every CLI run of this file, to check that none of them drew a progress bar into a pipe. */
const allRuns: CliResult[] = [];

async function otsensor(...args: string[]): Promise<CliResult> {
  const r = await runOtsensor(args);
  allRuns.push(r);
  return r;
}

function parseSummary(stdout: string): Summary {
  const value = JSON.parse(stdout) as unknown;
  expect(typeof value).toBe('object');
  return value as Summary;
}

function stderrLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l !== '');
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'otsensor-cli-'));
});

afterAll(() => {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

describe('otsensor read', () => {
  it('reads a good capture: exit 0, one JSON summary on stdout, nothing on stderr', async () => {
    const r = await otsensor('read', SMALL);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = parseSummary(r.stdout);
    const records = pcapRecordSpans(readFileSync(SMALL)).length;
    expect(s.frames).toBe(records);
    expect(s.modbus.pdus).toBeGreaterThan(0);
    expect(s.modbus.pdus).toBe(s.modbus.requests + s.modbus.responses);
    expect(s.files).toHaveLength(1);
    expect(s.files[0]?.file).toBe(SMALL);
    expect(s.files[0]?.frames).toBe(records);
    expect(s.files[0]?.error).toBeUndefined();
    expect(s.failed).toBe(0);
  });

  it('--events prints one schema-v1 JSON event per line, one transaction event per counted transaction', async () => {
    const [events, summary] = await Promise.all([
      otsensor('read', '--events', '--sensor-id', 'plant-7', SMALL),
      otsensor('read', SMALL),
    ]);
    expect(events.code).toBe(0);
    expect(events.stderr).toBe('');
    expect(events.stdout.endsWith('\n')).toBe(true);
    const lines = events.stdout.slice(0, -1).split('\n');
    const parsed = lines.map(
      (l) => JSON.parse(l) as { v: unknown; kind: unknown; id: unknown; flow: unknown; sensor: unknown },
    );
    for (const e of parsed) {
      expect(e.v).toBe(1);
      expect(e.sensor).toBe('plant-7');
      expect(EVENT_KINDS as readonly string[]).toContain(e.kind);
      expect(typeof e.id).toBe('string');
      expect(typeof e.flow).toBe('string');
    }
    expect(new Set(parsed.map((e) => e.id)).size).toBe(parsed.length);
    const transactions = parsed.filter((e) => e.kind === 'modbus.transaction').length;
    expect(transactions).toBeGreaterThan(0);
    expect(transactions).toBe(parseSummary(summary.stdout).modbus.transactions);
  });

  it('--events --summary prints the events, then the summary as the last line', async () => {
    const r = await otsensor('read', '--events', '--summary', SMALL);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const last = JSON.parse(lines.at(-1) ?? '') as Summary;
    expect(last.frames).toBe(pcapRecordSpans(readFileSync(SMALL)).length);
    const events = lines.slice(0, -1).map((l) => JSON.parse(l) as { kind: string });
    expect(events.filter((e) => e.kind === 'modbus.transaction').length).toBe(last.modbus.transactions);
  });

  describe('truncated captures: exit 1, one-line error with file and byte, every whole record before the cut counted', () => {
    const cases: Array<{ name: string; source: string; cutAt: (spans: { start: number; end: number }[]) => number }> = [
      {
        name: 'cut inside a record’s data',
        source: SMALL,
        cutAt: (spans) => {
          const r = spans[40];
          if (r === undefined) throw new Error('capture too small');
          return r.start + 16 + Math.floor((r.end - r.start - 16) / 2);
        },
      },
      {
        name: 'cut inside a record header, past the first 1 MiB read',
        source: BIG,
        cutAt: (spans) => {
          const r = spans.find((s) => s.start > 1024 * 1024 + 5000);
          if (r === undefined) throw new Error('capture too small');
          return r.start + 7;
        },
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const bytes = readFileSync(c.source);
        const spans = pcapRecordSpans(bytes);
        expect(spans.at(-1)?.end).toBe(bytes.length); // the original is whole
        const cut = c.cutAt(spans);
        const whole = completeRecordsBefore(spans, cut);
        const firstBroken = spans[whole];
        if (firstBroken === undefined) throw new Error('cut does not break a record');
        const path = join(tmp, `truncated-${whole}.pcap`);
        writeFileSync(path, bytes.subarray(0, cut));

        const r = await otsensor('read', path);
        expect(r.code).toBe(1);
        const errors = stderrLines(r);
        expect(errors).toHaveLength(1);
        expect(errors[0]).toContain(path);
        expect(errors[0]).toContain(`byte ${firstBroken.start}`);
        const s = parseSummary(r.stdout);
        expect(s.frames).toBe(whole);
        expect(s.failed).toBe(1);
        expect(s.files[0]?.frames).toBe(whole);
        expect(s.files[0]?.error?.byteOffset).toBe(firstBroken.start);
      });
    }

    it('a cut .gz: every whole record in the part that still decompresses is counted', async () => {
      const gz = gzipSync(readFileSync(BIG));
      const cut = gz.subarray(0, Math.floor(gz.length * 0.7));
      const path = join(tmp, 'cut.pcap.gz');
      writeFileSync(path, cut);
      // Independently: what zlib can still decompress from the cut file, and the whole records in it.
      const prefix = gunzipSync(cut, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      const whole = pcapRecordSpans(prefix).length;
      expect(whole).toBeGreaterThan(1000);

      const r = await otsensor('read', path);
      expect(r.code).toBe(1);
      const errors = stderrLines(r);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(path);
      expect(errors[0]).toContain('compressed data ends early');
      const s = parseSummary(r.stdout);
      expect(s.frames).toBe(whole);
      expect(s.files[0]?.error?.code).toBe('GZIP_TRUNCATED');
    });

    it('cut inside the global header: nothing counted, still one line naming the file', async () => {
      const path = join(tmp, 'header-only.pcap');
      writeFileSync(path, readFileSync(SMALL).subarray(0, 10));
      const r = await otsensor('read', path);
      expect(r.code).toBe(1);
      expect(stderrLines(r)).toHaveLength(1);
      expect(r.stderr).toContain(path);
      expect(parseSummary(r.stdout).frames).toBe(0);
    });
  });

  it('a garbage file and an empty file: exit 1 with a clear error naming each file', async () => {
    const garbage = join(tmp, 'garbage.pcap');
    const empty = join(tmp, 'empty.pcap');
    writeFileSync(garbage, Buffer.from('this is not a capture file, just some text that goes on for a while\n'));
    writeFileSync(empty, new Uint8Array(0));
    for (const path of [garbage, empty]) {
      const r = await otsensor('read', path);
      expect(r.code).toBe(1);
      const errors = stderrLines(r);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^otsensor: /);
      expect(errors[0]).toContain(path);
      expect(errors[0]).toMatch(/not a pcap|empty/);
      const s = parseSummary(r.stdout);
      expect(s.frames).toBe(0);
      expect(s.files[0]?.error?.code).toEqual(expect.any(String));
    }
  });

  it('a nonexistent file: exit 1 naming it', async () => {
    const path = join(tmp, 'does-not-exist.pcap');
    const r = await otsensor('read', path);
    expect(r.code).toBe(1);
    expect(stderrLines(r)).toHaveLength(1);
    expect(r.stderr).toContain(path);
    expect(r.stderr).toMatch(/ENOENT|no such file/i);
  });

  it('several files, one bad: the others are still read and counted, exit 1', async () => {
    const bad = join(tmp, 'bad-among-good.pcap');
    writeFileSync(bad, Buffer.from('garbage garbage garbage garbage'));
    const [all, first, second] = await Promise.all([
      otsensor('read', SMALL, bad, OTHER),
      otsensor('read', SMALL),
      otsensor('read', OTHER),
    ]);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(all.code).toBe(1);
    const errors = stderrLines(all);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(bad);
    const s = parseSummary(all.stdout);
    const a = parseSummary(first.stdout);
    const b = parseSummary(second.stdout);
    expect(s.files.map((f) => f.file)).toEqual([SMALL, bad, OTHER]);
    expect(s.files[0]?.error).toBeUndefined();
    expect(s.files[1]?.error).toBeDefined();
    expect(s.files[2]?.error).toBeUndefined();
    expect(s.failed).toBe(1);
    expect(s.frames).toBe(a.frames + b.frames);
    expect(s.modbus.pdus).toBe(a.modbus.pdus + b.modbus.pdus);
    expect(s.files[0]).toEqual(a.files[0]);
    expect(s.files[2]).toEqual(b.files[0]);
  });

  it('usage errors exit 2 and print the usage on stderr', async () => {
    const runs = await Promise.all([
      otsensor('frobnicate'),
      otsensor('read'),
      otsensor('read', '--no-such-option', SMALL),
      otsensor(),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('usage:');
      expect(r.stderr).toContain('otsensor read FILE');
      expect(r.stdout).toBe('');
    }
    expect(runs[0]?.stderr).toContain("unknown command 'frobnicate'");

    const help = await otsensor('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('otsensor read FILE');
  });

  it('--limit sets the memory caps: a smaller flow table evicts, and the report counts it and shows the caps', async () => {
    type Flows = { peak: number; evictedLru: number; created: number };
    const flows = (s: Summary) => s.files[0]?.health['flows'] as Flows;
    const plain = parseSummary((await otsensor('read', SMALL)).stdout);
    expect(flows(plain)).toMatchObject({ created: 19, peak: 19, evictedLru: 0 });
    const r = await otsensor('read', SMALL, '--limit', 'flows=16', '--limit', 'app-buffer=128K');
    expect(r.code, r.stderr).toBe(0);
    const capped = parseSummary(r.stdout);
    expect(flows(capped)).toMatchObject({ created: 19, peak: 16, evictedLru: 3 });
    expect(capped.files[0]?.health['appBuffers']).toMatchObject({ limit: 128 * 1024 });
    // An evicted connection had ended its exchanges: nothing decoded is lost on this capture.
    expect(capped.modbus).toEqual(plain.modbus);
    const bad = await Promise.all(
      ['nope=1', 'flows=abc', 'flows=8', 'flows=16K', 'app-buffer=1T', 'flows'].map((l) =>
        otsensor('read', SMALL, '--limit', l),
      ),
    );
    for (const b of bad) {
      expect(b.code).toBe(2);
      expect(b.stdout).toBe('');
      expect(stderrLines(b)[0]).toMatch(/^otsensor: --limit/);
    }
    // The same limits in the sensor config file (deploy/sensor-config.ts): a bad one names the file.
    const config = join(tmp, 'sensor.yaml');
    writeFileSync(
      config,
      'sensor: s1\nprovince: gd\nenterprise: acme\nnats: { url: "nats://127.0.0.1:1", nkeySeedFile: nkey.seed }\n' +
        'outbox: { dir: outbox, maxBytes: 1048576 }\nlimits: { flows: 16, app-buffer: 1T }\n',
    );
    const fromFile = await otsensor('read', SMALL, '--config', config);
    expect(fromFile.code).toBe(2);
    expect(stderrLines(fromFile)[0]).toBe(`otsensor: ${config}: limits app-buffer: '1T' is not a size (e.g. 256M)`);
  });

  it('--retime moves packet times so that the last packet is now, keeping every gap (drills)', async () => {
    const times = (stdout: string) =>
      stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { ts: string; tsNs: number })
        .map((e) => Math.floor(Date.parse(e.ts) / 1000) * 1e9 + e.tsNs);
    const [plain, moved] = await Promise.all([
      otsensor('read', SMALL, '--events'),
      otsensor('read', SMALL, '--events', '--retime'),
    ]);
    const after = Date.now();
    expect(moved.code, moved.stderr).toBe(0);
    const a = times(plain.stdout);
    const b = times(moved.stdout);
    expect(b.length).toBe(a.length);
    expect(a.length).toBeGreaterThan(10);
    const shiftNs = (b[0] ?? 0) - (a[0] ?? 0);
    expect(shiftNs % 1e9).toBe(0);
    expect(b.map((t, i) => t - (a[i] ?? 0))).toEqual(b.map(() => shiftNs));
    // Every event is in the past, and the last one within a minute of the run (the capture ends with it).
    const newest = Math.max(...b) / 1e6;
    expect(newest).toBeLessThanOrEqual(after);
    expect(after - newest).toBeLessThan(60_000);
    expect(moved.stderr).toContain(`otsensor: --retime: packet times moved by ${shiftNs / 1e9} s`);
    expect(plain.stderr).not.toContain('--retime');
  });

  it('--limit s7-open-requests / opcua-open-requests: the parsers track fewer pending requests and say so', async () => {
    // Captures with several requests outstanding at once (S7 jobs in parallel; OPC UA Publish requests).
    const anomalies = async (file: string, proto: 's7comm' | 'opcua', ...extra: string[]) => {
      const r = await otsensor('read', join(SHARED_PCAPS, file), ...extra);
      expect(r.code, r.stderr).toBe(0);
      const section = (JSON.parse(r.stdout) as Record<string, { anomalies: Record<string, number> }>)[proto];
      return section?.anomalies ?? {};
    };
    const s7 = 'ct__Plant1_S7comm.pcap';
    const ua = 'icsnpp-opcua__open62541_client-server_mainloop.pcap';
    const [s7Plain, s7Capped, uaPlain, uaCapped] = await Promise.all([
      anomalies(s7, 's7comm'),
      anomalies(s7, 's7comm', '--limit', 's7-open-requests=1'),
      anomalies(ua, 'opcua'),
      anomalies(ua, 'opcua', '--limit', 'opcua-open-requests=1'),
    ]);
    expect(s7Plain['s7comm.too_many_open_requests'] ?? 0).toBe(0);
    expect(s7Capped['s7comm.too_many_open_requests']).toBeGreaterThan(0);
    expect(uaPlain['opcua.too_many_open_requests'] ?? 0).toBe(0);
    expect(uaCapped['opcua.too_many_open_requests']).toBeGreaterThan(0);
  });

  it('--limit rule-values: the rule engine keeps fewer distinct values per group, and the report counts the drops', async () => {
    const capture = join(SHARED_PCAPS, 'iti__ModbusTCP.pcap');
    const rules = async (...extra: string[]) => {
      const r = await otsensor('read', capture, '--alerts', '--summary', ...extra);
      expect(r.code, r.stderr).toBe(0);
      const last = r.stdout.trimEnd().split('\n').at(-1) ?? '';
      return parseSummary(last).files[0]?.health['rules'] as Record<string, number>;
    };
    const [plain, capped] = await Promise.all([rules(), rules('--limit', 'rule-values=4')]);
    expect(plain.evaluations).toBeGreaterThan(1000);
    expect(plain.valuesDropped).toBe(0);
    expect(capped.evaluations).toBe(plain.evaluations);
    expect(capped.valuesDropped).toBeGreaterThan(0);
  });

  it('a gzip-compressed copy gives the same summary as the plain file', async () => {
    const gz = join(tmp, 'small.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(SMALL)));
    const [plain, compressed] = await Promise.all([otsensor('read', SMALL), otsensor('read', gz)]);
    expect(compressed.code).toBe(0);
    expect(compressed.stderr).toBe('');
    const p = parseSummary(plain.stdout);
    const c = parseSummary(compressed.stdout);
    expect(c.frames).toBe(p.frames);
    expect(c.modbus).toEqual(p.modbus);
    expect(c.files[0]?.file).toBe(gz);
    expect({ ...c.files[0], file: '' }).toEqual({ ...p.files[0], file: '' });
  });

  it('draws the progress bar only on a terminal, and never into stdout', async () => {
    // stderr a terminal (util-linux `script` gives the child a pty), stdout redirected to a file.
    const out = join(tmp, 'tty-stdout.json');
    const command = `${JSON.stringify(process.execPath)} bin/otsensor.js read ${JSON.stringify(BIG)} > ${JSON.stringify(out)}`;
    const transcript = await new Promise<string>((resolve, reject) => {
      execFile('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: REPO_ROOT, timeout: 60_000 }, (err, so) =>
        err ? reject(err) : resolve(so),
      );
    });
    expect(transcript).toMatch(/\r.*zeek__modbusBig\.pcap .*packets/); // the bar was drawn on the terminal...
    const stdout = readFileSync(out, 'utf8');
    expect(stdout).not.toMatch(/[\r\u001b]/); // ...and none of it reached stdout
    expect(parseSummary(stdout).frames).toBe(pcapRecordSpans(readFileSync(BIG)).length);

    // Without a terminal (every other run in this file): no bar anywhere.
    const piped = await otsensor('read', BIG);
    expect(piped.code).toBe(0);
    expect(allRuns.length).toBeGreaterThan(10);
    for (const r of allRuns) {
      expect(r.stdout).not.toMatch(/[\r\u001b]/);
      expect(r.stderr).not.toMatch(/[\r\u001b]/);
    }
  });
});
