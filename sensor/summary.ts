/**
 * Run summary: the counts `otsensor read --summary` prints, shaped so they can be compared key by key with the
 * `.truth.json` files tshark produced for ../shared/pcaps (numeric protocol codes as decimal-string keys).
 *
 * Counting happens on the per-PDU path, so it uses typed arrays indexed by code rather than objects or maps.
 */
export interface ModbusSummary {
  pdus: number;
  requests: number;
  responses: number;
  func_codes: Record<string, number>;
  exception_responses: number;
  exceptions_by_func_code: Record<string, number>;
  exception_codes: Record<string, number>;
  unit_ids: number[];
  device_identification: Record<string, string[]>;
  talkers: [string, string, 'modbus'][];
  transactions: number;
  /** Entries not kept because a cap was reached (see ModbusCounters.MAX_*). */
  dropped: { talkers: number; device_identification: number };
  anomalies: Record<string, number>;
}

export class ModbusCounters {
  pdus = 0;
  requests = 0;
  responses = 0;
  exceptionResponses = 0;
  transactions = 0;
  readonly funcCodes = new Float64Array(128);
  readonly exceptionsByFunc = new Float64Array(128);
  readonly exceptionCodes = new Float64Array(256);
  readonly unitIds = new Uint8Array(256);
  readonly deviceIdentification = new Map<number, Set<string>>();
  readonly talkers = new Set<string>();
  readonly anomalies = new Map<string, number>();
  /**
   * Caps on what the summary keeps of wire-controlled strings: a live session runs one pipeline for days, so the
   * sets above must not grow without bound. What does not fit is counted, not kept.
   */
  static readonly MAX_TALKERS = 4096;
  static readonly MAX_DEVICE_ID_VALUES = 1024;
  talkersDropped = 0;
  deviceIdentificationDropped = 0;
  private deviceIdValues = 0;

  /** Counts one framed PDU. `func` is the function code without the exception bit. */
  countPdu(isResponse: boolean, unit: number, func: number, isException: boolean, exceptionCode: number): void {
    this.pdus++;
    if (isResponse) this.responses++;
    else this.requests++;
    const f = func & 0x7f;
    this.funcCodes[f] = (this.funcCodes[f] ?? 0) + 1;
    this.unitIds[unit & 0xff] = 1;
    if (isException) {
      this.exceptionResponses++;
      this.exceptionsByFunc[f] = (this.exceptionsByFunc[f] ?? 0) + 1;
      const e = exceptionCode & 0xff;
      this.exceptionCodes[e] = (this.exceptionCodes[e] ?? 0) + 1;
    }
  }

  countTalker(srcIp: string, dstIp: string): void {
    const key = `${srcIp}\u0000${dstIp}`;
    if (this.talkers.has(key)) return;
    if (this.talkers.size >= ModbusCounters.MAX_TALKERS) this.talkersDropped++;
    else this.talkers.add(key);
  }

  countAnomaly(name: string): void {
    this.anomalies.set(name, (this.anomalies.get(name) ?? 0) + 1);
  }

  addDeviceIdentification(objectId: number, value: string): void {
    let values = this.deviceIdentification.get(objectId);
    if (values?.has(value)) return;
    if (this.deviceIdValues >= ModbusCounters.MAX_DEVICE_ID_VALUES) {
      this.deviceIdentificationDropped++;
      return;
    }
    if (!values) {
      values = new Set();
      this.deviceIdentification.set(objectId, values);
    }
    values.add(value);
    this.deviceIdValues++;
  }

  toJSON(): ModbusSummary {
    return {
      pdus: this.pdus,
      requests: this.requests,
      responses: this.responses,
      func_codes: countsByCode(this.funcCodes),
      exception_responses: this.exceptionResponses,
      exceptions_by_func_code: countsByCode(this.exceptionsByFunc),
      exception_codes: countsByCode(this.exceptionCodes),
      unit_ids: [...this.unitIds.keys()].filter((u) => this.unitIds[u] === 1),
      device_identification: Object.fromEntries(
        [...this.deviceIdentification.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([id, values]) => [String(id), [...values].sort()]),
      ),
      talkers: [...this.talkers].sort().map((t) => {
        const [src = '', dst = ''] = t.split('\u0000');
        return [src, dst, 'modbus'] as [string, string, 'modbus'];
      }),
      transactions: this.transactions,
      dropped: { talkers: this.talkersDropped, device_identification: this.deviceIdentificationDropped },
      anomalies: Object.fromEntries([...this.anomalies.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    };
  }
}

function countsByCode(counts: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let code = 0; code < counts.length; code++) {
    const n = counts[code] ?? 0;
    if (n > 0) out[String(code)] = n;
  }
  return out;
}

/** Adds `from` into `into` (totals over several files). */
export function mergeModbusCounters(into: ModbusCounters, from: ModbusCounters): void {
  into.pdus += from.pdus;
  into.requests += from.requests;
  into.responses += from.responses;
  into.exceptionResponses += from.exceptionResponses;
  into.transactions += from.transactions;
  addArrays(into.funcCodes, from.funcCodes);
  addArrays(into.exceptionsByFunc, from.exceptionsByFunc);
  addArrays(into.exceptionCodes, from.exceptionCodes);
  for (let u = 0; u < 256; u++) if (from.unitIds[u] === 1) into.unitIds[u] = 1;
  for (const [id, values] of from.deviceIdentification) for (const v of values) into.addDeviceIdentification(id, v);
  for (const t of from.talkers) {
    const [src = '', dst = ''] = t.split('\u0000');
    into.countTalker(src, dst);
  }
  into.talkersDropped += from.talkersDropped;
  into.deviceIdentificationDropped += from.deviceIdentificationDropped;
  for (const [name, n] of from.anomalies) into.anomalies.set(name, (into.anomalies.get(name) ?? 0) + n);
}

function addArrays(into: Float64Array, from: Float64Array): void {
  for (let i = 0; i < into.length; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
}
