import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../tests/support/paths.ts';
import { loadScenario, parseScenario, ScenarioError } from './scenario.ts';

const FILE = join(REPO_ROOT, 'drills/x.yaml');

describe('drill scenarios', () => {
  it('every bundled scenario parses, and its captures exist inside the repo (never ../shared)', () => {
    const files = readdirSync(join(REPO_ROOT, 'drills')).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    let lab = 0;
    for (const f of files) {
      const s = loadScenario(join(REPO_ROOT, 'drills', f));
      expect(s.steps.length).toBeGreaterThanOrEqual(3);
      for (const step of s.steps) {
        if (step.source.kind === 'lab') {
          lab++;
          continue;
        }
        expect(step.source.path.startsWith(REPO_ROOT)).toBe(true);
        expect(step.source.path).not.toContain('shared');
        expect(existsSync(step.source.path), step.source.path).toBe(true);
      }
    }
    expect(lab).toBeGreaterThan(0);
  });

  it('resolves captures relative to the file, defaults a lab step to its own rule, keeps time order', () => {
    const s = parseScenario(
      `name: t
steps:
  - capture: ../rules/packs/captures/s7-cpu-scan.pcap
    enterprise: e1
    sensor: s1
    at: 1
    expect: { rule: ot.s7.cpu_scan, level: medium }
  - lab: s7-plc-stop
    enterprise: e1
    sensor: s2
`,
      FILE,
    );
    expect(s.province).toBe('gd');
    expect(s.steps[0]?.source).toEqual({
      kind: 'capture',
      path: join(REPO_ROOT, 'rules/packs/captures/s7-cpu-scan.pcap'),
    });
    expect(s.steps[1]?.expect).toEqual({ rule: 'ot.s7.plc_stop', level: 'critical' });
    expect(s.steps[1]?.at).toBe(1);
    expect(s.steps[1]?.name).toBe('step 2');
  });

  it.each([
    ['no steps', 'name: t\nsteps: []\n', /at least one/],
    [
      'both sources',
      'name: t\nsteps:\n  - {capture: a.pcap, lab: s7-plc-stop, enterprise: e, sensor: s}\n',
      /exactly one/,
    ],
    ['unknown lab step', 'name: t\nsteps:\n  - {lab: nuke, enterprise: e, sensor: s}\n', /unknown step 'nuke'/],
    [
      'bad level',
      'name: t\nsteps:\n  - {lab: s7-plc-stop, enterprise: e, sensor: s, expect: {level: severe}}\n',
      /one of/,
    ],
    [
      'unknown key',
      'name: t\nsteps:\n  - {lab: s7-plc-stop, enterprise: e, sensor: s, when: 3}\n',
      /unknown key 'when'/,
    ],
    ['bad sensor id', 'name: t\nsteps:\n  - {lab: s7-plc-stop, enterprise: e, sensor: "a b"}\n', /must match/],
    [
      'out of order',
      'name: t\nsteps:\n  - {lab: s7-plc-stop, enterprise: e, sensor: s, at: 5}\n  - {lab: s7-szl-scan, enterprise: e, sensor: s, at: 2}\n',
      /time order/,
    ],
    [
      'two lab sensors',
      'name: t\nsteps:\n  - {lab: s7-plc-stop, enterprise: e, sensor: s}\n  - {lab: s7-szl-scan, enterprise: e, sensor: t}\n',
      /share one enterprise and sensor/,
    ],
    ['not yaml', 'name: [\n', /not YAML/],
  ])('refuses %s with a message naming the place', (_, text, message) => {
    expect(() => parseScenario(text, FILE)).toThrow(ScenarioError);
    expect(() => parseScenario(text, FILE)).toThrow(message);
  });
});
