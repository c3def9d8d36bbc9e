/** The inventory as CSV: one row per asset, identity columns, evidence summarised (RFC 4180 quoting). */
import type { AssetRecord, InventorySnapshot } from './types.ts';

const IDENTITY_COLUMNS = [
  'vendor',
  'orderNumber',
  'firmwareVersion',
  'hardwareVersion',
  'moduleName',
  'moduleType',
  'plcName',
  'plantId',
  'serialNumber',
  'productCode',
  'productName',
  'modelName',
  'revision',
  'serverId',
] as const;

export const CSV_COLUMNS = [
  'ip',
  'mac',
  'mac_vendor',
  'vlans',
  'role',
  'role_confidence',
  'role_reasons',
  'other_roles',
  'protocols',
  'served',
  'used',
  'peers',
  'first_seen',
  'last_seen',
  ...IDENTITY_COLUMNS,
  'opcua_application_uris',
  'opcua_product_uris',
  'certificates',
  'advisories',
  'evidence',
] as const;

function quote(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function row(a: AssetRecord): string[] {
  const top = a.roles[0];
  const evidence = Object.entries(a.identity).map(
    ([k, v]) => `${k}: ${v.evidence.message} @ ${v.evidence.ts} flow ${v.evidence.flow} (${v.evidence.sensor})`,
  );
  for (const app of a.applications)
    evidence.push(`application ${app.applicationUri}: ${app.evidence.message} @ ${app.evidence.ts}`);
  return [
    a.ip,
    a.mac ?? '',
    a.macVendor ?? '',
    a.vlans.join(' '),
    a.role,
    String(top?.confidence ?? 0),
    (top?.reasons ?? []).join('; '),
    a.roles
      .slice(1)
      .map((r) => `${r.role} ${r.confidence}`)
      .join('; '),
    a.protocols.join(' '),
    a.served.map((s) => `${s.proto}/${s.port}`).join(' '),
    a.used.map((s) => `${s.proto}/${s.port}`).join(' '),
    Object.entries(a.peers)
      .map(
        ([ip, p]) =>
          `${ip}(${Object.entries(p)
            .map(([k, n]) => `${k}:${n}`)
            .join(',')})`,
      )
      .join(' '),
    a.firstSeen,
    a.lastSeen,
    ...IDENTITY_COLUMNS.map((c) => a.identity[c]?.value ?? ''),
    [...new Set(a.applications.map((x) => x.applicationUri))].join(' '),
    [...new Set(a.applications.map((x) => x.productUri ?? '').filter((x) => x !== ''))].join(' '),
    a.certificates.map((c) => `${c.subject ?? '?'} [${c.validFrom ?? '?'} .. ${c.validTo ?? '?'}]`).join('; '),
    a.advisories.map((m) => `${m.advisory} (${m.cve.join(' ')}; ${m.severity}; ${m.status})`).join('; '),
    evidence.join('; '),
  ];
}

export function inventoryToCsv(snapshot: InventorySnapshot): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const a of snapshot.assets) lines.push(row(a).map(quote).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
