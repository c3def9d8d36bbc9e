/**
 * SZL (System status list, "SSL" in English manuals) record decoders for Read SZL responses. Allocating: used only
 * for the rare SZL responses (identity, mode, capabilities), at counting time for identity and when events are wanted.
 *
 * Response payload (userdata data part after return code, transport size, length):
 *   SZL id (2) | index (2) | record length (2) | record count (2) | records (count × length)
 * Records decoded:
 *   0x0011 / 0x0111 / 0x0F11 (module identification): index (2) | MlfB order number (20 chars) | BGTyp (2) |
 *     Ausbg (2) | Ausbe (2). For index 7 (firmware) and 0x81 (boot loader) Ausbg/Ausbe carry 'V' major minor patch.
 *   0x001C / 0x011C (component identification): index (2) | name (32 chars, or shorter fields for 9..11) | reserved.
 *   0x0424 (current mode): ereig (2) | ae | bzu-id (low nibble current/requested mode, high nibble previous) |
 *     reserved (4) | anlinfo1..4 | time (8, BCD).
 *   0x0131 index 1 (communication capabilities): index | max PDU | max connections | MPI rate (4) | bus rate (4) | ...
 *   0x0000 (list of available SZL ids): one SZL id (2) per record.
 */
import { hex4, szl001cKey, szl0011IndexName } from './constants.ts';
import { readU16, readU32 } from './header.ts';

export interface SzlModuleId {
  index: number;
  indexName: string;
  orderNumber: string;
  moduleTypeId: number;
  ausbg: number;
  ausbe: number;
  /** "V3.2.6" when Ausbg starts with 'V' (firmware / boot loader records). */
  version?: string;
}

export interface SzlComponentId {
  index: number;
  key: string;
  value: string;
}

export interface SzlMode {
  event: number;
  requestedMode: number;
  requestedModeName: string;
  previousMode: number;
  previousModeName: string;
  anlinfo: number[];
}

export interface SzlCommCapabilities {
  index: number;
  maxPduSize?: number;
  maxConnections?: number;
  mpiRate?: number;
  busRate?: number;
}

export interface SzlDecoded {
  id: number;
  index: number;
  recordLength: number;
  recordCount: number;
  moduleIds?: SzlModuleId[];
  components?: SzlComponentId[];
  modes?: SzlMode[];
  commCapabilities?: SzlCommCapabilities[];
  szlIds?: string[];
  /** Records present but not decoded by this module. */
  undecodedRecords?: number;
  truncated?: boolean;
}

const CPU_MODES: Record<number, string> = {
  0: 'Unknown',
  1: 'STOP (update)',
  2: 'STOP (memory reset)',
  3: 'STOP (self initialization)',
  4: 'STOP (internal)',
  5: 'Startup (complete restart)',
  7: 'Restart',
  8: 'RUN',
  10: 'HOLD',
  13: 'DEFECT',
};

export function cpuModeFromNibble(n: number): string {
  return CPU_MODES[n] ?? '?';
}

/** Latin-1 text of `b[i .. i+n)`, cut at the first NUL and trimmed of spaces (as SZL strings are padded). */
export function szlString(b: Uint8Array, i: number, n: number): string {
  let s = '';
  for (let k = 0; k < n; k++) {
    const c = b[i + k] ?? 0;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s.trim();
}

/** Decodes a Read SZL response payload at `b[i .. i+len)` (starting at the SZL id). Never throws. */
export function decodeSzlResponse(b: Uint8Array, i: number, len: number, maxRecords = 256): SzlDecoded {
  const end = i + len;
  const out: SzlDecoded = { id: readU16(b, i), index: readU16(b, i + 2), recordLength: 0, recordCount: 0 };
  if (len < 8) {
    out.truncated = true;
    return out;
  }
  const rlen = readU16(b, i + 4);
  const count = readU16(b, i + 6);
  out.recordLength = rlen;
  out.recordCount = count;
  let p = i + 8;
  const kind = out.id & 0x00ff;
  const n = Math.min(count, maxRecords);
  let undecoded = 0;
  const moduleIds: SzlModuleId[] = [];
  const components: SzlComponentId[] = [];
  const modes: SzlMode[] = [];
  const caps: SzlCommCapabilities[] = [];
  const ids: string[] = [];
  for (let r = 0; r < n; r++) {
    if (rlen === 0 || p + rlen > end) {
      out.truncated = true;
      break;
    }
    if (kind === 0x11 && rlen >= 28) {
      const index = readU16(b, p);
      const ausbg = readU16(b, p + 24);
      const ausbe = readU16(b, p + 26);
      const m: SzlModuleId = {
        index,
        indexName: szl0011IndexName(index),
        orderNumber: szlString(b, p + 2, 20),
        moduleTypeId: readU16(b, p + 22),
        ausbg,
        ausbe,
      };
      if (ausbg >> 8 === 0x56) m.version = `V${ausbg & 0xff}.${ausbe >> 8}.${ausbe & 0xff}`;
      moduleIds.push(m);
    } else if (kind === 0x1c && rlen >= 4) {
      const index = readU16(b, p);
      let value: string;
      if (index === 9 && rlen >= 8) {
        value = `manufacturer=${hex4(readU16(b, p + 2))} profile=${hex4(readU16(b, p + 4))} profile_type=${hex4(readU16(b, p + 6))}`;
      } else if (index === 10 && rlen >= 34) {
        value = `${szlString(b, p + 2, 26)} oem_id=${hex4(readU16(b, p + 28))} oem_add_id=0x${readU32(b, p + 30)
          .toString(16)
          .padStart(8, '0')}`.trim();
      } else {
        value = szlString(b, p + 2, Math.min(32, rlen - 2));
      }
      components.push({ index, key: szl001cKey(index), value });
    } else if (out.id === 0x0424 && rlen >= 12) {
      const bzu = b[p + 3] ?? 0;
      modes.push({
        event: readU16(b, p),
        requestedMode: bzu & 0x0f,
        requestedModeName: cpuModeFromNibble(bzu & 0x0f),
        previousMode: bzu >> 4,
        previousModeName: cpuModeFromNibble(bzu >> 4),
        anlinfo: [b[p + 8] ?? 0, b[p + 9] ?? 0, b[p + 10] ?? 0, b[p + 11] ?? 0],
      });
    } else if ((out.id & 0x0fff) === 0x0131 && rlen >= 2) {
      const index = readU16(b, p);
      const c: SzlCommCapabilities = { index };
      if (index === 1 && rlen >= 14) {
        c.maxPduSize = readU16(b, p + 2);
        c.maxConnections = readU16(b, p + 4);
        c.mpiRate = readU32(b, p + 6);
        c.busRate = readU32(b, p + 10);
      }
      caps.push(c);
    } else if (kind === 0x00 && rlen >= 2) {
      ids.push(hex4(readU16(b, p)));
    } else {
      undecoded++;
    }
    p += rlen;
  }
  if (moduleIds.length > 0) out.moduleIds = moduleIds;
  if (components.length > 0) out.components = components;
  if (modes.length > 0) out.modes = modes;
  if (caps.length > 0) out.commCapabilities = caps;
  if (ids.length > 0) out.szlIds = ids;
  if (count > n) out.truncated = true;
  if (undecoded > 0) out.undecodedRecords = undecoded;
  return out;
}

/** One identity fact (inventory evidence): key as in the truth files' `identity` section, value string. */
export interface IdentityFact {
  key: string;
  value: string;
}

/**
 * Identity facts of a decoded SZL response, keyed and formatted like the truth files:
 * `szl_0011_index_0x0001` → "6ES7 315-2EH14-0AB0 ausbg=0x0003"; `szl_001c_<name>` → the trimmed string (empty
 * strings are not facts).
 */
export function identityFacts(szl: SzlDecoded): IdentityFact[] {
  const facts: IdentityFact[] = [];
  for (const m of szl.moduleIds ?? []) {
    facts.push({ key: `szl_0011_index_${hex4(m.index)}`, value: `${m.orderNumber} ausbg=${hex4(m.ausbg)}` });
  }
  for (const c of szl.components ?? []) {
    // Indexes 9 and 10 hold numeric ids (manufacturer/profile, OEM): kept in the decoded records, not identity facts.
    if (c.value !== '' && c.index !== 9 && c.index !== 10) facts.push({ key: `szl_001c_${c.key}`, value: c.value });
  }
  return facts;
}
