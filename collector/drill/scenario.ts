/**
 * Drill scenarios (docs/drills.md): a small YAML file with an ordered list of steps, each replaying one capture or
 * running one lab attack step through a sensor of an enterprise, at an offset from the start, and what the collector
 * must show for it. Paths of captures are relative to the scenario file.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { isLabStep, LAB_STEPS, type LabStep } from '../../lab/steps.ts';

export const DRILL_LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type DrillLevel = (typeof DRILL_LEVELS)[number];

export interface DrillExpect {
  rule?: string;
  /** Minimum level of the alert. */
  level?: DrillLevel;
}

export type DrillSource = { kind: 'capture'; path: string } | { kind: 'lab'; step: LabStep };

export interface DrillStep {
  name: string;
  source: DrillSource;
  enterprise: string;
  sensor: string;
  /** Seconds from the drill's start (a step never starts before the previous one finished). */
  at: number;
  expect: DrillExpect;
}

export interface DrillScenario {
  name: string;
  description: string;
  province: string;
  file: string;
  steps: DrillStep[];
}

export class ScenarioError extends Error {}

const TOKEN = /^[A-Za-z0-9_-]{1,48}$/;

function text(v: unknown, where: string, pattern?: RegExp): string {
  if (typeof v !== 'string' || v.trim() === '') throw new ScenarioError(`${where}: must be a non-empty string`);
  if (pattern && !pattern.test(v)) throw new ScenarioError(`${where}: '${v}' must match ${pattern.source}`);
  return v;
}

function record(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ScenarioError(`${where}: must be a mapping`);
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, keys: string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new ScenarioError(`${where}: unknown key '${k}' (allowed: ${keys.join(', ')})`);
  }
}

/** Parses and checks a scenario; `file` anchors relative capture paths. Throws ScenarioError with the path. */
export function parseScenario(source: string, file: string): DrillScenario {
  let doc: unknown;
  try {
    doc = parse(source);
  } catch (err) {
    throw new ScenarioError(`${file}: not YAML: ${(err as Error).message}`);
  }
  const top = record(doc, file);
  onlyKeys(top, ['name', 'description', 'province', 'steps'], file);
  const name = text(top.name, `${file}: name`);
  const province = top.province === undefined ? 'gd' : text(top.province, `${file}: province`, TOKEN);
  if (!Array.isArray(top.steps) || top.steps.length === 0) throw new ScenarioError(`${file}: steps: give at least one`);
  const base = dirname(resolve(file));
  let lastAt = 0;
  const steps = top.steps.map((raw, i): DrillStep => {
    const where = `${file}: steps[${i}]`;
    const s = record(raw, where);
    onlyKeys(s, ['name', 'capture', 'lab', 'enterprise', 'sensor', 'at', 'expect'], where);
    if ((s.capture === undefined) === (s.lab === undefined)) {
      throw new ScenarioError(`${where}: give exactly one of capture: PATH or lab: STEP`);
    }
    let stepSource: DrillSource;
    if (s.capture !== undefined) {
      stepSource = { kind: 'capture', path: resolve(base, text(s.capture, `${where}.capture`)) };
    } else {
      const lab = text(s.lab, `${where}.lab`);
      if (!isLabStep(lab)) {
        throw new ScenarioError(`${where}.lab: unknown step '${lab}' (${Object.keys(LAB_STEPS).join(', ')})`);
      }
      stepSource = { kind: 'lab', step: lab };
    }
    const at = s.at === undefined ? lastAt : s.at;
    if (typeof at !== 'number' || !(at >= 0) || !Number.isFinite(at)) {
      throw new ScenarioError(`${where}.at: seconds from the start, ≥ 0`);
    }
    if (at < lastAt) throw new ScenarioError(`${where}.at: steps must be in time order (${at} < ${lastAt})`);
    lastAt = at;
    const e = s.expect === undefined ? {} : record(s.expect, `${where}.expect`);
    onlyKeys(e, ['rule', 'level'], `${where}.expect`);
    const expect: DrillExpect = {};
    if (e.rule !== undefined) expect.rule = text(e.rule, `${where}.expect.rule`);
    if (e.level !== undefined) {
      if (!DRILL_LEVELS.includes(e.level as DrillLevel)) {
        throw new ScenarioError(`${where}.expect.level: one of ${DRILL_LEVELS.join(', ')}`);
      }
      expect.level = e.level as DrillLevel;
    }
    // A lab step expects its own rule unless the scenario says otherwise.
    if (stepSource.kind === 'lab' && expect.rule === undefined && expect.level === undefined) {
      expect.rule = LAB_STEPS[stepSource.step].rule;
      expect.level = LAB_STEPS[stepSource.step].level;
    }
    return {
      name: s.name === undefined ? `step ${i + 1}` : text(s.name, `${where}.name`),
      source: stepSource,
      enterprise: text(s.enterprise, `${where}.enterprise`, TOKEN),
      sensor: text(s.sensor, `${where}.sensor`, TOKEN),
      at,
      expect,
    };
  });
  // One live sensor captures the lab for the whole drill, so every lab step must name the same one.
  const labSensors = new Set(steps.filter((s) => s.source.kind === 'lab').map((s) => `${s.enterprise}/${s.sensor}`));
  if (labSensors.size > 1) {
    throw new ScenarioError(`${file}: lab steps must share one enterprise and sensor (${[...labSensors].join(', ')})`);
  }
  return {
    name,
    description: typeof top.description === 'string' ? top.description : '',
    province,
    file,
    steps,
  };
}

export function loadScenario(file: string): DrillScenario {
  return parseScenario(readFileSync(file, 'utf8'), file);
}

export function levelAtLeast(level: string, min: DrillLevel): boolean {
  return DRILL_LEVELS.indexOf(level as DrillLevel) >= DRILL_LEVELS.indexOf(min);
}
