/**
 * Detailed S7comm PDU decoding (allocating: once per emitted transaction, or for the rare PDUs that carry identity
 * and PI service names). The counting path uses header.ts only.
 *
 * Wire formats (after the S7 header; "param" = parameter part, "data" = data part):
 * - Setup communication (0xF0): param: func | reserved | max AMQ calling (2) | max AMQ called (2) | PDU length (2).
 * - Read Var (0x04) Job: param: func | item count | items; S7ANY item: 0x12 | length 0x0A | syntax id 0x10 |
 *   transport size | length (2) | DB number (2) | area | address (3 bytes: byte << 3 | bit).
 *   Ack_Data: param: func | count; data: per item: return code | transport size | length (2, bits for BIT/INT/DINT
 *   transport sizes 3/4/5, else bytes) | value | pad to even (not after the last item).
 * - Write Var (0x05) Job: param as Read Var; data: per item as the Read Var response (return code 0). Ack_Data: data
 *   is one return code per item.
 * - Request download (0x1A) / Download block (0x1B) / Download ended (0x1C) / Start upload (0x1D) / Upload (0x1E) /
 *   End upload (0x1F): param: func | status | 2 bytes (error code in End upload/Download ended) | upload id (4) |
 *   [filename length | filename "_0A00001P" = '_' block type (2 hex chars) block number (5 digits) filesystem].
 *   Start upload Ack_Data: ... | length-string length | block length (ASCII). Upload Ack_Data data: length (2) |
 *   unknown (2) | block bytes.
 * - PI service (0x28) Job: func | 7 unknown bytes | param block length (2) | param block | name length | name.
 *   For _INSE / _DELE the param block is: block count | 0x00 | count × 8-char file names ("0A00001P").
 * - PLC Stop (0x29) Job: func | 5 unknown bytes | name length | name ("P_PROGRAM").
 * - Userdata: see header.ts; data payload by group: CPU functions / Read SZL (szl.ts), time functions (8-byte BCD
 *   timestamp after a reserved byte and year-high byte), block functions (list: per type 0x30 type | count (2);
 *   list of type: per block number (2) | flags | language; get block info: type | number (5 ASCII) | filesystem),
 *   security (PLC password, 8 bytes obfuscated: reported as present, never decoded or logged), mode transition
 *   (current mode in the subfunction byte).
 */
import {
  areaName,
  blockTypeFromAscii,
  blockTypeFromWord,
  cpuModeName,
  dataTransportSizeName,
  errorClassName,
  FN_DOWNLOAD_BLOCK,
  FN_DOWNLOAD_ENDED,
  FN_END_UPLOAD,
  FN_PI_SERVICE,
  FN_PLC_STOP,
  FN_READ_VAR,
  FN_REQUEST_DOWNLOAD,
  FN_SETUP_COMMUNICATION,
  FN_START_UPLOAD,
  FN_UPLOAD,
  FN_WRITE_VAR,
  functionName,
  hex4,
  piServiceDescription,
  ROSCTR_ACK,
  ROSCTR_ACK_DATA,
  ROSCTR_JOB,
  ROSCTR_USERDATA,
  returnCodeName,
  rosctrName,
  s7HeaderLength,
  syntaxIdName,
  transportSizeName,
  UD_GROUP_BLOCK,
  UD_GROUP_CPU,
  UD_GROUP_MODE_TRANSITION,
  UD_GROUP_SECURITY,
  UD_GROUP_TIME,
  UD_SUB_READ_SZL,
  UD_TYPE_REQUEST,
  UD_TYPE_RESPONSE,
  userdataGroupName,
  userdataSubfunctionName,
  userdataTypeName,
} from './constants.ts';
import { readU16, readU32 } from './header.ts';
import { decodeSzlResponse, type SzlDecoded } from './szl.ts';

export const DEFAULT_MAX_ITEMS = 64;
export const DEFAULT_MAX_VALUE_BYTES = 64;

export interface S7Item {
  syntaxId: number;
  syntaxName: string;
  transportSize?: number;
  transportSizeName?: string;
  length?: number;
  dbNumber?: number;
  area?: number;
  areaName?: string;
  byteAddress?: number;
  bitAddress?: number;
  /** "DB1.DBX 0.0 BYTE 4"-style address, for people. */
  address?: string;
}

export interface S7DataItem {
  returnCode: number;
  returnCodeName: string;
  transportSize: number;
  transportSizeName: string;
  /** Length in bytes. */
  length: number;
  /** Value bytes as hex, capped. */
  hex: string;
  truncated?: boolean;
}

export interface S7Block {
  filename: string;
  blockType: string;
  blockNumber: number;
  filesystem: string;
  /** "DB1", "OB1". */
  name: string;
}

export interface S7Decoded {
  rosctr: number;
  rosctrName: string;
  pduRef: number;
  paramLength: number;
  dataLength: number;
  errorClass?: number;
  errorCode?: number;
  errorName?: string;
  func?: number;
  funcName?: string;
  setup?: { maxAmqCalling: number; maxAmqCalled: number; pduLength: number };
  itemCount?: number;
  items?: S7Item[];
  data?: S7DataItem[];
  returnCodes?: { code: number; name: string }[];
  block?: S7Block;
  uploadId?: number;
  status?: number;
  moreData?: boolean;
  blockLength?: number;
  blockBytes?: number;
  pi?: { service: string; description: string; blocks?: S7Block[]; parameters?: string };
  userdata?: S7UserdataDecoded;
  malformed?: string;
}

export interface S7UserdataDecoded {
  type: number;
  typeName: string;
  group: number;
  groupName: string;
  subfunction: number;
  subfunctionName: string;
  sequence: number;
  lastDataUnit?: number;
  errorCode?: number;
  returnCode?: number;
  returnCodeName?: string;
  szlId?: string;
  szlIndex?: string;
  szl?: SzlDecoded;
  clock?: string;
  mode?: { code: number; name: string };
  blockList?: { blockType: string; count: number }[];
  blockNumbers?: number[];
  block?: S7Block;
  passwordPresent?: boolean;
  payloadLength?: number;
}

function hexOf(b: Uint8Array, i: number, n: number): string {
  let s = '';
  for (let k = 0; k < n; k++) s += (b[i + k] ?? 0).toString(16).padStart(2, '0');
  return s;
}

function ascii(b: Uint8Array, i: number, n: number): string {
  let s = '';
  for (let k = 0; k < n; k++) s += String.fromCharCode(b[i + k] ?? 0);
  return s;
}

/** "_0A00001P" or "0A00001P" → block. */
export function parseBlockFilename(name: string): S7Block {
  const s = name.startsWith('_') ? name.slice(1) : name;
  const typeCode = s.slice(0, 2);
  const blockType = blockTypeFromAscii(typeCode);
  const blockNumber = Number.parseInt(s.slice(2, 7), 10);
  return {
    filename: name,
    blockType,
    blockNumber: Number.isFinite(blockNumber) ? blockNumber : -1,
    filesystem: s.slice(7, 8),
    name: `${blockType}${Number.isFinite(blockNumber) ? blockNumber : '?'}`,
  };
}

function itemAddress(it: S7Item): string {
  const area = it.area ?? 0;
  const byte = it.byteAddress ?? 0;
  const bit = it.bitAddress ?? 0;
  const prefix: Record<number, string> = { 129: 'I', 130: 'Q', 131: 'M', 128: 'P', 134: 'L', 135: 'V' };
  const ts = it.transportSizeName ?? '?';
  const count = it.length ?? 0;
  if (area === 0x84 || area === 0x85)
    return `${area === 0x84 ? 'DB' : 'DI'}${it.dbNumber ?? 0}.DBX ${byte}.${bit} ${ts} ${count}`;
  if (area === 0x1c) return `C ${byte} ${ts} ${count}`;
  if (area === 0x1d) return `T ${byte} ${ts} ${count}`;
  return `${prefix[area] ?? '?'} ${byte}.${bit} ${ts} ${count}`;
}

/** Items of a Read/Write Var Job parameter part starting at `p` (after func and count). */
function decodeItems(b: Uint8Array, p: number, end: number, count: number, maxItems: number): S7Item[] {
  const items: S7Item[] = [];
  for (let k = 0; k < count && k < maxItems && p + 2 <= end; k++) {
    const specLen = b[p + 1] ?? 0;
    const syntaxId = b[p + 2] ?? 0;
    const it: S7Item = { syntaxId, syntaxName: syntaxIdName(syntaxId) };
    if (syntaxId === 0x10 && specLen >= 10 && p + 12 <= end) {
      const ts = b[p + 3] ?? 0;
      const addr = ((b[p + 9] ?? 0) << 16) | ((b[p + 10] ?? 0) << 8) | (b[p + 11] ?? 0);
      it.transportSize = ts;
      it.transportSizeName = transportSizeName(ts);
      it.length = readU16(b, p + 4);
      it.dbNumber = readU16(b, p + 6);
      it.area = b[p + 8] ?? 0;
      it.areaName = areaName(it.area);
      it.byteAddress = addr >> 3;
      it.bitAddress = addr & 7;
      it.address = itemAddress(it);
    }
    items.push(it);
    p += 2 + specLen;
  }
  return items;
}

/** Data items (Read Var response, Write Var request) at `p`. */
function decodeDataItems(b: Uint8Array, p: number, end: number, count: number, maxItems: number, maxBytes: number) {
  const out: S7DataItem[] = [];
  for (let k = 0; k < count && k < maxItems && p + 4 <= end; k++) {
    const rc = b[p] ?? 0;
    const ts = b[p + 1] ?? 0;
    let length = readU16(b, p + 2);
    // BIT, BYTE/WORD/DWORD and INTEGER count the length in bits.
    if (ts === 0x03 || ts === 0x04 || ts === 0x05) length = ts === 0x03 ? Math.ceil(length / 8) : length >> 3;
    const avail = Math.max(0, Math.min(length, end - (p + 4)));
    const shown = Math.min(avail, maxBytes);
    const d: S7DataItem = {
      returnCode: rc,
      returnCodeName: returnCodeName(rc),
      transportSize: ts,
      transportSizeName: dataTransportSizeName(ts),
      length,
      hex: hexOf(b, p + 4, shown),
    };
    if (shown < length) d.truncated = true;
    out.push(d);
    p += 4 + length;
    if (length % 2 === 1 && k < count - 1) p++;
  }
  return out;
}

/** BCD byte → number. */
function bcd(v: number): number {
  return (v >> 4) * 10 + (v & 0x0f);
}

/** S7 DATE_AND_TIME (8 BCD bytes: yy mm dd hh mm ss ms(1.5 bytes) weekday) → ISO-like string. */
export function s7DateTime(b: Uint8Array, i: number): string {
  const yy = bcd(b[i] ?? 0);
  const year = yy >= 90 ? 1900 + yy : 2000 + yy;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const ms = bcd(b[i + 6] ?? 0) * 10 + ((b[i + 7] ?? 0) >> 4);
  return `${year}-${pad(bcd(b[i + 1] ?? 0))}-${pad(bcd(b[i + 2] ?? 0))}T${pad(bcd(b[i + 3] ?? 0))}:${pad(bcd(b[i + 4] ?? 0))}:${pad(bcd(b[i + 5] ?? 0))}.${pad(ms, 3)}`;
}

export interface DecodeOptions {
  maxItems?: number;
  maxValueBytes?: number;
}

/** Decodes the S7comm PDU at `b[off .. off+len)` (first byte 0x32). Never throws. */
export function decodeS7(b: Uint8Array, off: number, len: number, options: DecodeOptions = {}): S7Decoded {
  const maxItems = options.maxItems ?? DEFAULT_MAX_ITEMS;
  const maxBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  const rosctr = b[off + 1] ?? 0;
  const hlen = s7HeaderLength(rosctr);
  const d: S7Decoded = {
    rosctr,
    rosctrName: rosctrName(rosctr),
    pduRef: readU16(b, off + 4),
    paramLength: readU16(b, off + 6),
    dataLength: readU16(b, off + 8),
  };
  if (len < hlen) {
    d.malformed = 'PDU shorter than the S7 header';
    return d;
  }
  if (rosctr === ROSCTR_ACK || rosctr === ROSCTR_ACK_DATA) {
    d.errorClass = b[off + 10] ?? 0;
    d.errorCode = b[off + 11] ?? 0;
    d.errorName = errorClassName(d.errorClass);
  }
  const end = off + len;
  const par = off + hlen;
  const parEnd = Math.min(par + d.paramLength, end);
  const dat = parEnd;
  const datEnd = Math.min(dat + d.dataLength, end);
  if (hlen + d.paramLength + d.dataLength > len) d.malformed = 'parameter + data length exceed the PDU';
  if (rosctr === ROSCTR_USERDATA) {
    if (par + 8 <= parEnd) d.userdata = decodeUserdata(b, par, parEnd, dat, datEnd);
    return d;
  }
  if (par >= parEnd) return d;
  const fn = b[par] ?? 0;
  d.func = fn;
  d.funcName = functionName(fn);
  const isJob = rosctr === ROSCTR_JOB;
  switch (fn) {
    case FN_SETUP_COMMUNICATION:
      if (par + 8 <= parEnd)
        d.setup = {
          maxAmqCalling: readU16(b, par + 2),
          maxAmqCalled: readU16(b, par + 4),
          pduLength: readU16(b, par + 6),
        };
      break;
    case FN_READ_VAR:
    case FN_WRITE_VAR: {
      const count = b[par + 1] ?? 0;
      d.itemCount = count;
      if (isJob) {
        d.items = decodeItems(b, par + 2, parEnd, count, maxItems);
        if (fn === FN_WRITE_VAR) d.data = decodeDataItems(b, dat, datEnd, count, maxItems, maxBytes);
      } else if (fn === FN_READ_VAR) {
        d.data = decodeDataItems(b, dat, datEnd, count, maxItems, maxBytes);
      } else {
        const rcs: { code: number; name: string }[] = [];
        for (let k = 0; k < count && k < maxItems && dat + k < datEnd; k++) {
          const rc = b[dat + k] ?? 0;
          rcs.push({ code: rc, name: returnCodeName(rc) });
        }
        d.returnCodes = rcs;
      }
      break;
    }
    case FN_REQUEST_DOWNLOAD:
    case FN_DOWNLOAD_BLOCK:
    case FN_DOWNLOAD_ENDED:
    case FN_START_UPLOAD:
    case FN_UPLOAD:
    case FN_END_UPLOAD:
      decodeBlockTransfer(d, b, par, parEnd, dat, datEnd, fn, isJob);
      break;
    case FN_PI_SERVICE:
      if (isJob && par + 10 <= parEnd) {
        const blockLen = readU16(b, par + 8);
        const blockAt = par + 10;
        const nameAt = blockAt + blockLen;
        if (nameAt < parEnd) {
          const nlen = b[nameAt] ?? 0;
          const service = ascii(b, nameAt + 1, Math.min(nlen, parEnd - nameAt - 1));
          d.pi = { service, description: piServiceDescription(service) };
          if ((service === '_INSE' || service === '_DELE') && blockLen >= 2) {
            const n = b[blockAt] ?? 0;
            const blocks: S7Block[] = [];
            for (let k = 0; k < n && k < maxItems && blockAt + 2 + (k + 1) * 8 <= nameAt; k++)
              blocks.push(parseBlockFilename(ascii(b, blockAt + 2 + k * 8, 8)));
            d.pi.blocks = blocks;
          } else if (blockLen > 0) {
            d.pi.parameters = ascii(b, blockAt, Math.min(blockLen, parEnd - blockAt));
          }
        } else d.malformed ??= 'PI service name missing';
      }
      break;
    case FN_PLC_STOP:
      if (isJob && par + 7 <= parEnd) {
        const nlen = b[par + 6] ?? 0;
        const service = ascii(b, par + 7, Math.min(nlen, parEnd - par - 7));
        d.pi = { service, description: piServiceDescription(service) };
      }
      break;
    default:
      break;
  }
  return d;
}

function decodeBlockTransfer(
  d: S7Decoded,
  b: Uint8Array,
  par: number,
  parEnd: number,
  dat: number,
  datEnd: number,
  fn: number,
  isJob: boolean,
): void {
  d.status = b[par + 1] ?? 0;
  if (fn === FN_UPLOAD && !isJob) {
    d.moreData = ((d.status ?? 0) & 0x01) !== 0;
    if (dat + 4 <= datEnd) {
      d.blockLength = readU16(b, dat);
      d.blockBytes = datEnd - dat - 4;
    }
    return;
  }
  if (fn === FN_DOWNLOAD_BLOCK && !isJob) {
    d.moreData = ((d.status ?? 0) & 0x01) !== 0;
    if (dat + 4 <= datEnd) {
      d.blockLength = readU16(b, dat);
      d.blockBytes = datEnd - dat - 4;
    }
    return;
  }
  if (par + 8 <= parEnd) d.uploadId = readU32(b, par + 4);
  if (fn === FN_END_UPLOAD || fn === FN_UPLOAD) return;
  if (fn === FN_START_UPLOAD && !isJob) {
    if (par + 9 <= parEnd) {
      const n = b[par + 8] ?? 0;
      const s = ascii(b, par + 9, Math.min(n, parEnd - par - 9));
      const v = Number.parseInt(s, 10);
      if (Number.isFinite(v)) d.blockLength = v;
    }
    return;
  }
  if (!isJob) return;
  if (par + 9 <= parEnd) {
    const n = b[par + 8] ?? 0;
    if (n > 0 && par + 9 + n <= parEnd) d.block = parseBlockFilename(ascii(b, par + 9, n));
    if (fn === FN_REQUEST_DOWNLOAD && par + 9 + n + 1 <= parEnd) {
      const lenPart = b[par + 9 + n] ?? 0;
      // "1" + load memory length (6 digits) + MC7 length (6 digits).
      if (lenPart >= 13 && par + 10 + n + lenPart <= parEnd) {
        const s = ascii(b, par + 10 + n, lenPart);
        const v = Number.parseInt(s.slice(1, 7), 10);
        if (Number.isFinite(v)) d.blockLength = v;
      }
    }
  }
}

function decodeUserdata(b: Uint8Array, par: number, parEnd: number, dat: number, datEnd: number): S7UserdataDecoded {
  const tg = b[par + 5] ?? 0;
  const type = tg >> 4;
  const group = tg & 0x0f;
  const sub = b[par + 6] ?? 0;
  const u: S7UserdataDecoded = {
    type,
    typeName: userdataTypeName(type),
    group,
    groupName: userdataGroupName(group),
    subfunction: sub,
    subfunctionName: userdataSubfunctionName(group, sub),
    sequence: b[par + 7] ?? 0,
  };
  if ((b[par + 3] ?? 0) >= 8 && par + 12 <= parEnd) {
    u.lastDataUnit = b[par + 9] ?? 0;
    u.errorCode = readU16(b, par + 10);
  }
  if (group === UD_GROUP_MODE_TRANSITION) u.mode = { code: sub, name: cpuModeName(sub) };
  if (dat + 4 > datEnd) return u;
  const rc = b[dat] ?? 0;
  u.returnCode = rc;
  u.returnCodeName = returnCodeName(rc);
  const plen = readU16(b, dat + 2);
  const pay = dat + 4;
  const payEnd = Math.min(pay + plen, datEnd);
  u.payloadLength = payEnd - pay;
  if (rc !== 0xff) return u;
  if (group === UD_GROUP_CPU && sub === UD_SUB_READ_SZL && pay + 4 <= payEnd) {
    u.szlId = hex4(readU16(b, pay));
    u.szlIndex = hex4(readU16(b, pay + 2));
    if (type === UD_TYPE_RESPONSE && pay + 8 <= payEnd) u.szl = decodeSzlResponse(b, pay, payEnd - pay);
  } else if (group === UD_GROUP_TIME && type === UD_TYPE_RESPONSE && (sub === 1 || sub === 3) && pay + 10 <= payEnd) {
    u.clock = s7DateTime(b, pay + 2);
  } else if (group === UD_GROUP_TIME && type === UD_TYPE_REQUEST && (sub === 2 || sub === 4) && pay + 10 <= payEnd) {
    u.clock = s7DateTime(b, pay + 2);
  } else if (group === UD_GROUP_BLOCK && type === UD_TYPE_RESPONSE && sub === 1) {
    const list: { blockType: string; count: number }[] = [];
    for (let p = pay; p + 4 <= payEnd; p += 4)
      list.push({ blockType: blockTypeFromWord(readU16(b, p)), count: readU16(b, p + 2) });
    u.blockList = list;
  } else if (group === UD_GROUP_BLOCK && type === UD_TYPE_RESPONSE && sub === 2) {
    const nums: number[] = [];
    for (let p = pay; p + 4 <= payEnd && nums.length < 1024; p += 4) nums.push(readU16(b, p));
    u.blockNumbers = nums;
  } else if (group === UD_GROUP_BLOCK && type === UD_TYPE_REQUEST && sub === 3 && pay + 8 <= payEnd) {
    u.block = parseBlockFilename(ascii(b, pay, 8));
  } else if (group === UD_GROUP_SECURITY && type === UD_TYPE_REQUEST && sub === 1) {
    // The password travels XOR-obfuscated: we note it was sent; never decode or log it.
    u.passwordPresent = payEnd - pay >= 8;
  }
  return u;
}

/** Block names ("DB1") a Job touches: for inventory/rules and readable events. */
export function blockOf(d: S7Decoded): string | undefined {
  return d.block?.name ?? d.userdata?.block?.name;
}

export { ascii as s7Ascii, hexOf as s7Hex };
