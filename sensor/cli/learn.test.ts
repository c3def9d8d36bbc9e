/** `otsensor learn` and `read --baseline` end to end (the real CLI as a child process). */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOtsensor } from '../../tests/support/cli.ts';
import { parseDuration } from './learn.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'otsensor-learn-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('otsensor learn / --baseline', () => {
  it('learns a baseline file, then read --baseline prints exactly the deviations as alert lines', async () => {
    const out = path.join(dir, 'mbpoll.yml');
    const learn = await runOtsensor(['learn', 'tests/peers/mbpoll_1502.pcap', '--out', out, '--sensor-id', 'cell-3']);
    expect(learn.code).toBe(0);
    expect(learn.stdout).toBe('');
    expect(learn.stderr).toContain('learned 1 client/server/protocol profiles from 12 events');
    const text = await readFile(out, 'utf8');
    expect(text).toContain('\nversion: 1\nsensor: cell-3\n');
    expect(text).toContain('files: [ tests/peers/mbpoll_1502.pcap ]');

    const same = await runOtsensor(['read', 'tests/peers/mbpoll_1502.pcap', '--baseline', out]);
    expect(same.code).toBe(0);
    expect(same.stdout.split('\n').filter((l) => l.includes('"kind":"alert"'))).toEqual([]);

    const other = await runOtsensor(['read', 'tests/peers/modbus-serial_5020.pcap', '--baseline', out]);
    expect(other.code).toBe(0);
    const lines = other.stdout.trim().split('\n');
    const alerts = lines.map((l) => JSON.parse(l)).filter((o) => o.kind === 'alert');
    expect(alerts.map((a) => `${a.alert.rule.id} ${a.alert.matched.space} ${a.alert.matched.range}`)).toEqual([
      'baseline.new_write_range coils 32-40',
      'baseline.new_write_range holding 40-43',
      'baseline.new_write_range holding 500-502',
      'baseline.new_write_range holding 1500',
      'baseline.new_write_range holding 999-1000',
    ]);
    expect(alerts[0].alert.event.modbus.func).toBe(15);
    // Without --summary/--events the output is alert lines only; with --summary the summary is one compact line.
    expect(lines).toHaveLength(5);
    expect(other.stderr).toContain('baseline: 5 deviation alerts (baseline.new_write_range=5)');
  });

  it('learn without --out writes the YAML to stdout', async () => {
    const r = await runOtsensor(['learn', 'tests/peers/pymodbus_502.pcap']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# otsensor baseline/);
    expect(r.stdout).toContain('name: Read/Write Multiple Registers');
  });

  it('a bad baseline file is exit 2 with file:line:col and the problem', async () => {
    const bad = path.join(dir, 'bad.yml');
    await writeFile(bad, 'version: 1\ntalkers:\n  10.0.0.1:\n    10.0.0.2:\n      modbus:\n        funcs: {}\n');
    const r = await runOtsensor(['read', 'tests/peers/mbpoll_1502.pcap', '--baseline', bad]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${bad}:6:9: unknown field 'funcs'`);
    const missing = await runOtsensor(['read', 'tests/peers/mbpoll_1502.pcap', '--baseline', path.join(dir, 'no.yml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read baseline');
  });

  it('usage errors: no input, --iface without --for', async () => {
    expect((await runOtsensor(['learn'])).code).toBe(2);
    const r = await runOtsensor(['learn', '--iface', 'lo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--iface needs --for DURATION');
  });

  it('parses learning durations', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('30m')).toBe(1800);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('1d')).toBe(86400);
    expect(parseDuration('45')).toBe(45);
    expect(parseDuration('0m')).toBeNull();
    expect(parseDuration('2 weeks')).toBeNull();
  });
});
