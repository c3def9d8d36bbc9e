import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, SHARED_PCAPS } from '../../tests/support/paths.ts';
import { runCaptureThroughPipeline } from '../../tests/support/run-pipeline.ts';
import { BaselineFileError, formatBaseline, parseBaseline } from './baseline-file.ts';
import { BaselineLearner } from './learner.ts';

async function learnedText(file: string): Promise<string> {
  const run = await runCaptureThroughPipeline(file);
  const learner = new BaselineLearner();
  for (const e of run.events) learner.observe(e);
  return formatBaseline(learner.baseline({ sensor: 'sensor-7', files: [path.basename(file)] }));
}

function parseError(text: string): BaselineFileError {
  try {
    parseBaseline(text, 'site.yml');
  } catch (err) {
    if (err instanceof BaselineFileError) return err;
    throw err;
  }
  throw new Error('expected a BaselineFileError');
}

const MINIMAL = `version: 1
talkers:
  10.0.0.1:
    10.0.0.2:
      modbus:
        functions:
          3:
            read: { holding: [0-9] }
          16:
            write: { holding: [100-109, 200] }
`;

describe('baseline file', () => {
  it.each([
    path.join(REPO_ROOT, 'tests/peers/mbpoll_1502.pcap'),
    path.join(SHARED_PCAPS, 'icsnpp-s7comm__snap7.pcap'),
    path.join(SHARED_PCAPS, 'icsnpp-opcua__open62541_client-server_mainloop.pcap'),
    path.join(SHARED_PCAPS, 'icsnpp-s7comm__s7comm_plus.pcap'),
  ])('round trip is stable and learning is deterministic: %s', async (file) => {
    const text = await learnedText(file);
    expect(formatBaseline(parseBaseline(text, 'b.yml'))).toBe(text);
    expect(await learnedText(file)).toBe(text);
  });

  it('writes a header, the version, the sensor and the learning period, keys in natural order', async () => {
    const text = await learnedText(path.join(SHARED_PCAPS, 'icsnpp-s7comm__snap7.pcap'));
    expect(text.startsWith('# otsensor baseline')).toBe(true);
    expect(text).toContain('\nversion: 1\nsensor: sensor-7\nlearned:\n  from: 2016-02-08T');
    expect(text).toContain('files: [ icsnpp-s7comm__snap7.pcap ]');
    // 4 < 5 < 29 < 240 (natural, not text order); SZL ids quoted so YAML does not read them as numbers.
    const order = ['\n          4:', '\n          5:', '\n          29:', '\n          240:'].map((k) =>
      text.indexOf(k),
    );
    expect(order.every((at) => at > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(text).toMatch(/szlIds: \[ "0x0011", "0x001c", "0x0131", "0x0424" \]/);
    expect(text).toContain('name: PLC Stop');
    expect(text).toContain('targets: [ P_PROGRAM ]');
  });

  it('reads a minimal hand-written file with defaults', () => {
    const b = parseBaseline(MINIMAL, 'site.yml');
    expect(b.settings).toEqual({ rateFactor: 3, rateWindowSec: 60, rateMinRequests: 20, rangeSlack: 0 });
    const p = b.talkers.get('10.0.0.1')?.get('10.0.0.2')?.get('modbus');
    expect(p?.functions.get('16')?.write.get('holding')).toEqual([
      [100, 109],
      [200, 200],
    ]);
    expect(p?.rate.peakPerMin).toBe(0);
  });

  it('the example in docs/baseline.md is a valid baseline', async () => {
    const doc = await readFile(path.join(REPO_ROOT, 'docs/baseline.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    const b = parseBaseline(example, 'docs/baseline.md');
    const p = b.talkers.get('192.168.1.10')?.get('192.168.1.40')?.get('s7comm');
    expect(p?.functions.get('5')?.write.get('M')).toEqual([[0, 15]]);
    expect(p?.functions.get('41')?.targets).toEqual(['P_PROGRAM']);
    expect(p?.userdata.get('4.1')?.name).toBe('CPU functions / Read SZL');
    expect(b.learned.dropped).toEqual({ rangesMerged: 2 });
  });

  it('accepts unquoted SZL ids (YAML would read 0x0011 as 17) and normalises them', () => {
    const b = parseBaseline(
      'version: 1\ntalkers:\n  10.0.0.1:\n    10.0.0.2:\n      s7comm:\n        szlIds: [0x11, 0x001C]\n',
      'x.yml',
    );
    expect(b.talkers.get('10.0.0.1')?.get('10.0.0.2')?.get('s7comm')?.szlIds).toEqual(['0x0011', '0x001c']);
  });

  it.each([
    ['YAML syntax', 'version: 1\ntalkers: {\n', 3, /Flow map|flow collection|Missing|end/i],
    ['unknown top-level field', 'version: 1\ntalker: {}\n', 2, /unknown field 'talker'/],
    ['missing version', 'talkers: {}\n', 1, /missing field 'version'/],
    ['future version', 'version: 2\ntalkers: {}\n', 1, /unsupported baseline version 2/],
    ['unknown function field', MINIMAL.replace('read: {', 'reads: {'), 8, /unknown field 'reads'/],
    ['inverted range', MINIMAL.replace('100-109', '109-100'), 10, /'109-100' is not an address or range/],
    ['client not an IP', MINIMAL.replace('10.0.0.1:', 'plc-1:'), 3, /'plc-1' is not an IP address/],
    ['unknown protocol', MINIMAL.replace('modbus:', 'dnp3:'), 5, /unknown protocol 'dnp3'/],
    ['function code not a number', MINIMAL.replace('16:', 'write:'), 9, /'write' is not a function code/],
    ['duplicate key', MINIMAL.replace('16:', '3:'), 9, /unique/],
    ['negative rate factor', 'version: 1\nsettings:\n  rateFactor: -1\ntalkers: {}\n', 3, /rateFactor must be ≥ 0/],
    ['bad SZL id', MINIMAL.replace('modbus:', 's7comm:\n        szlIds: [ "17" ]\n      modbus:'), 6, /not an SZL id/],
  ])('a bad file (%s) is an error naming file and line', (_what, text, line, problem) => {
    const err = parseError(text);
    expect(err.file).toBe('site.yml');
    expect(err.line).toBe(line);
    expect(err.problem).toMatch(problem);
    expect(err.message).toMatch(new RegExp(`^site\\.yml:${line}:\\d+: `));
  });
});
