/**
 * Risk configuration: `data/risk/weights.yaml` (bundled) merged with an optional override file. Every key is
 * checked: an unknown key, a wrong type or weights summing over 100 is an error naming the file and the key.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { LEVELS, type Level, RISK_FACTORS, type RiskFactor } from '../store/types.ts';
import { parseOffset } from './windows.ts';

export const BUNDLED_RISK_CONFIG = fileURLToPath(new URL('../../data/risk/weights.yaml', import.meta.url));

export type SaturatingFactor = Exclude<RiskFactor, 'sensor_silence'>;

export interface RiskConfig {
  weights: Record<RiskFactor, number>;
  scales: Record<SaturatingFactor, number>;
  alerts: { lookbackDays: number; halfLifeHours: number; levels: Record<Level, number>; resolvedFactor: number };
  opcua: { postureRules: string[]; certificateless: boolean };
  plcWriters: { minWriters: number; writeActivity: string[] };
  firmware: { severities: Record<string, number>; default: number };
  engineering: { tags: string[]; rules: string[]; utcOffset: string; halfLifeHours: number };
  silence: { afterMinutes: number };
  history: { minIntervalMinutes: number; minChange: number };
  /** Files the configuration came from. */
  sources: string[];
}

export class RiskConfigError extends Error {}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Overlays `over` on `base` key by key (maps merge, everything else replaces); unknown keys are errors. */
function overlay(base: Plain, over: Plain, path: string, file: string, open: ReadonlySet<string>): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const here = path === '' ? key : `${path}.${key}`;
    if (!(key in base) && !open.has(path)) throw new RiskConfigError(`${file}: unknown key '${here}'`);
    const current = base[key];
    if (isPlain(current) && isPlain(value) && !open.has(here)) out[key] = overlay(current, value, here, file, open);
    else out[key] = value;
  }
  return out;
}

/** Maps whose keys are free (severities). */
const OPEN_MAPS = new Set(['firmware.severities']);

function readYaml(file: string): Plain {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RiskConfigError(`${file}: ${(error as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlain(doc)) throw new RiskConfigError(`${file}: the top level must be a map`);
  return doc;
}

function num(v: unknown, where: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new RiskConfigError(`${where} must be a number ≥ ${min} (got ${JSON.stringify(v)})`);
  }
  return v;
}

function strings(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new RiskConfigError(`${where} must be a list of strings`);
  }
  return v as string[];
}

function validate(raw: Plain, sources: string[]): RiskConfig {
  const where = sources.join(' + ');
  const sec = (k: string): Plain => {
    const v = raw[k];
    if (!isPlain(v)) throw new RiskConfigError(`${where}: '${k}' must be a map`);
    return v;
  };
  const weights = sec('weights');
  const w = {} as Record<RiskFactor, number>;
  for (const f of RISK_FACTORS) w[f] = num(weights[f], `${where}: weights.${f}`);
  const total = RISK_FACTORS.reduce((n, f) => n + w[f], 0);
  if (total > 100 + 1e-9) throw new RiskConfigError(`${where}: weights sum to ${total}, at most 100`);
  const scalesRaw = sec('scales');
  const scales = {} as Record<SaturatingFactor, number>;
  for (const f of RISK_FACTORS) {
    if (f === 'sensor_silence') continue;
    scales[f] = num(scalesRaw[f], `${where}: scales.${f}`, 1e-9);
  }
  const alerts = sec('alerts');
  const levelsRaw = alerts['levels'];
  if (!isPlain(levelsRaw)) throw new RiskConfigError(`${where}: alerts.levels must be a map`);
  const levels = {} as Record<Level, number>;
  for (const l of LEVELS) levels[l] = num(levelsRaw[l], `${where}: alerts.levels.${l}`);
  const opcua = sec('opcua');
  const plc = sec('plcWriters');
  const fw = sec('firmware');
  const sevRaw = fw['severities'];
  if (!isPlain(sevRaw)) throw new RiskConfigError(`${where}: firmware.severities must be a map`);
  const severities: Record<string, number> = {};
  for (const [k, v] of Object.entries(sevRaw))
    severities[k.toLowerCase()] = num(v, `${where}: firmware.severities.${k}`);
  const eng = sec('engineering');
  const utcOffset = String(eng['utcOffset']);
  try {
    parseOffset(utcOffset);
  } catch (error) {
    throw new RiskConfigError(`${where}: engineering.utcOffset: ${(error as Error).message}`);
  }
  const silence = sec('silence');
  const history = sec('history');
  if (typeof opcua['certificateless'] !== 'boolean') {
    throw new RiskConfigError(`${where}: opcua.certificateless must be true or false`);
  }
  return {
    weights: w,
    scales,
    alerts: {
      lookbackDays: num(alerts['lookbackDays'], `${where}: alerts.lookbackDays`, 1 / 24),
      halfLifeHours: num(alerts['halfLifeHours'], `${where}: alerts.halfLifeHours`, 1e-9),
      levels,
      resolvedFactor: num(alerts['resolvedFactor'], `${where}: alerts.resolvedFactor`),
    },
    opcua: {
      postureRules: strings(opcua['postureRules'], `${where}: opcua.postureRules`),
      certificateless: opcua['certificateless'],
    },
    plcWriters: {
      minWriters: num(plc['minWriters'], `${where}: plcWriters.minWriters`, 1),
      writeActivity: strings(plc['writeActivity'], `${where}: plcWriters.writeActivity`),
    },
    firmware: { severities, default: num(fw['default'], `${where}: firmware.default`) },
    engineering: {
      tags: strings(eng['tags'], `${where}: engineering.tags`).map((t) => t.toLowerCase()),
      rules: strings(eng['rules'], `${where}: engineering.rules`),
      utcOffset,
      halfLifeHours: num(eng['halfLifeHours'], `${where}: engineering.halfLifeHours`, 1e-9),
    },
    silence: { afterMinutes: num(silence['afterMinutes'], `${where}: silence.afterMinutes`, 1e-9) },
    history: {
      minIntervalMinutes: num(history['minIntervalMinutes'], `${where}: history.minIntervalMinutes`),
      minChange: num(history['minChange'], `${where}: history.minChange`),
    },
    sources,
  };
}

/** The bundled configuration, overlaid with `overrideFile` when given. */
export function loadRiskConfig(overrideFile?: string): RiskConfig {
  let raw = readYaml(BUNDLED_RISK_CONFIG);
  const sources = [BUNDLED_RISK_CONFIG];
  if (overrideFile !== undefined) {
    raw = overlay(raw, readYaml(overrideFile), '', overrideFile, OPEN_MAPS);
    sources.push(overrideFile);
  }
  return validate(raw, sources);
}
