/**
 * The pack's CSV files (UTF-8 with BOM so spreadsheet programs read Chinese correctly; RFC 4180 quoting). A cell
 * that starts with = + - @ is prefixed with ' so a spreadsheet never evaluates observed network data as a formula.
 */
import type { PackData } from './build.ts';

function cell(value: unknown): string {
  let s = value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(header: string[], rows: unknown[][]): string {
  return `\uFEFF${[header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}

interface IdentityLike {
  value?: string;
  evidence?: { protocol?: string; message?: string; event?: string; ts?: string } | string;
}

const IDENTITY_COLUMNS = [
  'vendor',
  'orderNumber',
  'moduleName',
  'firmwareVersion',
  'serialNumber',
  'productCode',
  'revision',
];

/** One row per asset: identity fields with the evidence each rests on. */
export function assetsCsv(data: PackData): string {
  const header = [
    'enterprise',
    'ip',
    'mac',
    'mac_vendor',
    'role',
    'protocols',
    'first_seen',
    'last_seen',
    'sensor',
    ...IDENTITY_COLUMNS,
    'advisories_affected',
    'evidence_refs',
  ];
  const rows = data.inventory.assets.map((a) => {
    const r = a.record as {
      mac?: string | null;
      macVendor?: string | null;
      protocols?: string[];
      identity?: Record<string, IdentityLike>;
      advisories?: { advisory: string; status: string; severity: string }[];
    };
    const identity = r.identity ?? {};
    const refs: string[] = [];
    for (const [field, v] of Object.entries(identity)) {
      const ev = v.evidence;
      if (typeof ev === 'string') refs.push(`${field}: ${ev}`);
      else if (ev) refs.push(`${field}: ${ev.message ?? ''} [${ev.event ?? ''} @ ${ev.ts ?? ''}]`);
    }
    return [
      data.enterprise.id,
      a.ip,
      r.mac ?? '',
      r.macVendor ?? '',
      a.role,
      (r.protocols ?? []).join(' '),
      a.firstSeen,
      a.lastSeen,
      a.sensorId,
      ...IDENTITY_COLUMNS.map((c) => identity[c]?.value ?? ''),
      (r.advisories ?? [])
        .filter((x) => x.status === 'affected')
        .map((x) => `${x.advisory} (${x.severity})`)
        .join('; '),
      refs.join(' | '),
    ];
  });
  return csv(header, rows);
}

/** One row per exposure finding and per grading flag, with evidence ids. */
export function findingsCsv(data: PackData): string {
  const rows: unknown[][] = [];
  const f = data.exposure;
  for (const w of f.plcWriters) {
    rows.push([
      'plc_writers',
      w.ip,
      `${w.writers.length} writers (${w.writers.join(' ')}); outside zone: ${w.outsideZone.join(' ') || 'none'}; ${w.writes} writes`,
      '',
      w.evidence.map((e) => e.id).join(' '),
    ]);
  }
  for (const o of f.opcuaUnsecured) {
    rows.push([
      'opcua_unsecured',
      o.ip,
      `${o.rules.join(' ')}; ${o.writes} writes/calls`,
      '',
      o.evidence.map((e) => e.id).join(' '),
    ]);
  }
  for (const v of f.vulnerableFirmware) {
    rows.push([
      'vulnerable_firmware',
      v.ip,
      `${v.advisory} ${v.title} (${v.severity}) ${v.cve.join(' ')} version ${v.version ?? '?'}`,
      '',
      v.evidence.map((e) => e.id).join(' '),
    ]);
  }
  for (const e of f.engineering) {
    rows.push([
      'engineering_action',
      e.server,
      `${e.client} → ${e.server} ${e.ruleId} ×${e.count}`,
      '',
      e.evidence.map((x) => x.id).join(' '),
    ]);
  }
  for (const g of data.flags) {
    const suggestion =
      g.suggestedGrade !== null
        ? `grade ${g.declaredGrade} → ≥${g.suggestedGrade}`
        : `class ${g.declaredClass} → ${g.suggestedClass}`;
    rows.push([`flag:${g.rule}`, '', g.observed.en, suggestion, g.evidence.map((e) => e.id).join(' ')]);
  }
  return csv(['kind', 'asset', 'detail', 'grading', 'evidence_refs'], rows);
}
