/**
 * Vulnerable-firmware advisories (data/advisories/advisories.json): validation of the data file and matching
 * against an asset's identity. A product matches when every pattern the advisory gives matches (order number with
 * spaces removed, Modbus vendor name, product name / model / module type, OPC UA product URI); then the firmware
 * version is compared with the affected ranges. Patterns are JavaScript regular expressions; a leading `(?i)` makes
 * one case-insensitive.
 */
import { readFileSync } from 'node:fs';
import type { AdvisoryMatch } from './types.ts';
import { inRange, parseVersion } from './version.ts';

export interface AffectedRange {
  from?: string;
  below?: string;
}

export interface AdvisoryMatchSpec {
  orderNumber?: string;
  vendorName?: string;
  productName?: string;
  productUri?: string;
}

export interface Advisory {
  id: string;
  title: string;
  vendor: string;
  product: string;
  match: AdvisoryMatchSpec;
  /** Empty: every version is affected. */
  affected: AffectedRange[];
  /** False when the fixed versions are not known: product matches are reported as `version_unknown`. */
  rangeKnown?: boolean;
  cve: string[];
  cnvd: string[];
  references: string[];
  severity: 'low' | 'medium' | 'high' | 'critical';
  cvss?: number;
  source: string;
  confidence: 'high' | 'medium' | 'low';
  note?: string;
}

export interface AdvisoryFile {
  version: 1;
  updated: string;
  note?: string;
  advisories: Advisory[];
}

export const DEFAULT_ADVISORIES_PATH = new URL('../../data/advisories/advisories.json', import.meta.url);

const SEVERITIES = new Set(['low', 'medium', 'high', 'critical']);
const CONFIDENCES = new Set(['high', 'medium', 'low']);
const MATCH_KEYS = ['orderNumber', 'vendorName', 'productName', 'productUri'] as const;

/** Builds a RegExp from a data-file pattern (`(?i)` prefix = case-insensitive). Throws on a bad pattern. */
export function compilePattern(pattern: string): RegExp {
  if (pattern.startsWith('(?i)')) return new RegExp(pattern.slice(4), 'i');
  return new RegExp(pattern);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Checks one advisory record; returns the problems found (empty = valid). */
export function validateAdvisory(a: unknown, where: string): string[] {
  const errors: string[] = [];
  if (typeof a !== 'object' || a === null) return [`${where}: not an object`];
  const r = a as Record<string, unknown>;
  for (const key of ['id', 'title', 'vendor', 'product', 'source'] as const) {
    if (typeof r[key] !== 'string' || (r[key] as string).trim() === '') errors.push(`${where}: '${key}' missing`);
  }
  const id = typeof r.id === 'string' ? r.id : where;
  if (typeof r.match !== 'object' || r.match === null) {
    errors.push(`${id}: 'match' missing`);
  } else {
    const m = r.match as Record<string, unknown>;
    const keys = Object.keys(m);
    if (keys.length === 0) errors.push(`${id}: 'match' has no pattern`);
    for (const k of keys) {
      if (!(MATCH_KEYS as readonly string[]).includes(k)) errors.push(`${id}: unknown match key '${k}'`);
      const p = m[k];
      if (typeof p !== 'string') {
        errors.push(`${id}: match.${k} is not a string`);
        continue;
      }
      try {
        compilePattern(p);
      } catch {
        errors.push(`${id}: match.${k} is not a valid regular expression`);
      }
    }
  }
  if (!Array.isArray(r.affected)) {
    errors.push(`${id}: 'affected' must be an array of {from?, below?}`);
  } else {
    for (const range of r.affected as unknown[]) {
      if (typeof range !== 'object' || range === null) {
        errors.push(`${id}: affected range is not an object`);
        continue;
      }
      const rr = range as Record<string, unknown>;
      for (const k of Object.keys(rr)) {
        if (k !== 'from' && k !== 'below') errors.push(`${id}: unknown affected key '${k}'`);
        else if (typeof rr[k] !== 'string' || parseVersion(rr[k] as string) === null)
          errors.push(`${id}: affected.${k} is not a version`);
      }
    }
  }
  if (!isStringArray(r.cve)) errors.push(`${id}: 'cve' must be an array of strings`);
  else for (const c of r.cve) if (!/^CVE-\d{4}-\d{4,}$/.test(c)) errors.push(`${id}: bad CVE id '${c}'`);
  if (!isStringArray(r.cnvd)) errors.push(`${id}: 'cnvd' must be an array of strings`);
  else for (const c of r.cnvd) if (!/^CNVD-\d{4}-\d{4,}$/.test(c)) errors.push(`${id}: bad CNVD id '${c}'`);
  if (r.references !== undefined && !isStringArray(r.references)) errors.push(`${id}: 'references' must be strings`);
  if (!SEVERITIES.has(r.severity as string)) errors.push(`${id}: severity must be low/medium/high/critical`);
  if (!CONFIDENCES.has(r.confidence as string)) errors.push(`${id}: confidence must be high/medium/low`);
  if (r.cvss !== undefined && (typeof r.cvss !== 'number' || r.cvss < 0 || r.cvss > 10))
    errors.push(`${id}: cvss must be 0..10`);
  if (r.rangeKnown !== undefined && typeof r.rangeKnown !== 'boolean') errors.push(`${id}: rangeKnown not boolean`);
  if (typeof r.source === 'string' && !/^https?:\/\//.test(r.source)) errors.push(`${id}: source must be a URL`);
  return errors;
}

/** Validates a whole data file; throws with every problem listed. */
export function validateAdvisoryFile(data: unknown): AdvisoryFile {
  const errors: string[] = [];
  if (typeof data !== 'object' || data === null) throw new Error('advisory file: not a JSON object');
  const d = data as Record<string, unknown>;
  if (d.version !== 1) errors.push("advisory file: 'version' must be 1");
  if (!Array.isArray(d.advisories)) errors.push("advisory file: 'advisories' must be an array");
  const ids = new Set<string>();
  (Array.isArray(d.advisories) ? d.advisories : []).forEach((a: unknown, i: number) => {
    errors.push(...validateAdvisory(a, `advisories[${i}]`));
    const id = (a as { id?: unknown } | null)?.id;
    if (typeof id === 'string') {
      if (ids.has(id)) errors.push(`duplicate advisory id '${id}'`);
      ids.add(id);
    }
  });
  if (errors.length > 0) throw new Error(`invalid advisory data:\n  ${errors.join('\n  ')}`);
  return data as AdvisoryFile;
}

export function loadAdvisories(path: string | URL = DEFAULT_ADVISORIES_PATH): Advisory[] {
  return validateAdvisoryFile(JSON.parse(readFileSync(path, 'utf8'))).advisories;
}

/** What an asset offers to match against (from its identity and OPC UA applications). */
export interface MatchSubject {
  orderNumbers: string[];
  vendorNames: string[];
  productNames: string[];
  productUris: string[];
  /** Firmware / revision / software version, best first. */
  version: string | null;
}

function rangeText(a: Advisory): string {
  if (a.rangeKnown === false) return 'fixed versions not recorded';
  if (a.affected.length === 0) return 'all versions';
  return a.affected
    .map((r) =>
      [r.from !== undefined ? `>= ${r.from}` : '', r.below !== undefined ? `< ${r.below}` : ''].join(' ').trim(),
    )
    .join(' or ');
}

interface CompiledAdvisory {
  advisory: Advisory;
  patterns: [keyof AdvisoryMatchSpec, RegExp][];
}

/** Matches identities against a set of advisories (patterns compiled once). */
export class AdvisoryMatcher {
  private readonly compiled: CompiledAdvisory[];

  constructor(advisories: readonly Advisory[]) {
    this.compiled = advisories.map((advisory) => ({
      advisory,
      patterns: MATCH_KEYS.filter((k) => advisory.match[k] !== undefined).map(
        (k) => [k, compilePattern(advisory.match[k] as string)] as [keyof AdvisoryMatchSpec, RegExp],
      ),
    }));
  }

  get size(): number {
    return this.compiled.length;
  }

  match(subject: MatchSubject): AdvisoryMatch[] {
    const out: AdvisoryMatch[] = [];
    for (const { advisory: a, patterns } of this.compiled) {
      const matchedOn: Record<string, string> = {};
      let ok = patterns.length > 0;
      for (const [key, re] of patterns) {
        const candidates =
          key === 'orderNumber'
            ? subject.orderNumbers.map((o) => o.replace(/\s+/g, ''))
            : key === 'vendorName'
              ? subject.vendorNames
              : key === 'productName'
                ? subject.productNames
                : subject.productUris;
        const hit = candidates.find((c) => re.test(c));
        if (hit === undefined) {
          ok = false;
          break;
        }
        matchedOn[key] = hit;
      }
      if (!ok) continue;
      let status: AdvisoryMatch['status'];
      if (a.rangeKnown === false) status = 'version_unknown';
      else if (a.affected.length === 0) status = 'affected';
      else if (subject.version === null) status = 'version_unknown';
      else {
        const v = subject.version;
        const results = a.affected.map((r) => inRange(v, r.from, r.below));
        if (results.some((x) => x === true)) status = 'affected';
        else if (results.every((x) => x === false)) continue;
        else status = 'version_unknown';
      }
      out.push({
        advisory: a.id,
        title: a.title,
        vendor: a.vendor,
        product: a.product,
        cve: a.cve,
        cnvd: a.cnvd,
        severity: a.severity,
        status,
        matchedOn,
        version: subject.version,
        affected: rangeText(a),
        source: a.source,
        confidence: a.confidence,
      });
    }
    return out;
  }
}
