/**
 * MAC → vendor from the IEEE registries (MA-L, MA-M, MA-S) as shipped by the `oui-data` package. The 5.6 MB table
 * is loaded on first use only, so runs that never build an inventory never pay for it.
 */
import { createRequire } from 'node:module';

type OuiTable = Record<string, string>;

let table: OuiTable | null = null;

function load(): OuiTable {
  if (table === null) {
    const require = createRequire(import.meta.url);
    table = require('oui-data') as OuiTable;
  }
  return table;
}

/** True for the all-zero MAC (loopback / cooked captures): not a real interface. */
export function isNullMac(mac: string): boolean {
  return /^(00[:-]){5}00$/.test(mac);
}

/** Locally administered (second bit of the first octet): randomised or assigned by software, not in the registry. */
export function isLocallyAdministered(mac: string): boolean {
  const first = Number.parseInt(mac.slice(0, 2), 16);
  return (first & 0x02) !== 0;
}

/** Vendor organisation name for a MAC (`aa:bb:cc:dd:ee:ff`), longest registry prefix first; null when unknown. */
export function lookupMacVendor(mac: string): string | null {
  const hex = mac.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  if (hex.length !== 12 || isNullMac(mac)) return null;
  if (isLocallyAdministered(mac)) return null;
  const t = load();
  const entry = t[hex.slice(0, 9)] ?? t[hex.slice(0, 7)] ?? t[hex.slice(0, 6)];
  if (entry === undefined) return null;
  const nl = entry.indexOf('\n');
  return (nl < 0 ? entry : entry.slice(0, nl)).trim();
}
