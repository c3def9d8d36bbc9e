/**
 * A lower bound for what the bundled Modbus rules cost, for `npm run -s bench:rules-ab -- --floor`: the packet-path
 * work of the Modbus pack's busiest rules written by hand, with nothing of a general engine. It stands in for the
 * RuleEngine behind the pipeline's RuleHook (same subject set-up, same calls per transaction), so the difference to
 * the `bundled` variant is what the engine's generality costs, and the difference to `none` is what this work costs
 * at the least.
 *
 * What it does per Modbus transaction (the rules of rules/packs/modbus/floods.yml, recon.yml and writes.yml that see
 * every transaction of modbus_big):
 *   - request flood: a ring of the last 1000 request times per client/server pair (≥ 1000 in 10 s);
 *   - write flood: a ring of the last 100 write times per pair (≥ 100 in 10 s);
 *   - illegal-address probing: a ring of 3 exception-2 times per pair (≥ 3 in 60 s);
 *   - function-code and unit-id sweeps: last-seen time per byte value per pair (≥ 8 / ≥ 10 distinct in 60 s);
 *   - address sweep: last-seen time per start address per pair and unit, in the engine's NumberSet, cleared when it
 *     fires (≥ 100 distinct in 60 s);
 *   - the seven write rules (FC 5, 6, 15, 16, 21, 22, 23): one suppression window per rule and pair.
 * What it leaves out, so that it is a floor and not a rival: the other 23 Modbus and anomaly rules, evidence events,
 * alert objects, caps and eviction, statistics per rule, and exact expiry of the byte-value sweeps (their stale values
 * are dropped by a scan at most once per second of packet time). A rule engine of any design has at least this work
 * to do on this capture; docs/benchmarks.md ("Eleventh look") has the figures.
 *
 * Two variants: `floor` does the work inside each `evaluate` call, as the engine does; `floor-deferred` only copies
 * the seven numbers it needs into typed-array columns and does the work for up to 4096 transactions at a time, on the
 * pipeline's expiry sweep (every 4096 packets) and at the end. It measures what keeping the rules' working set apart
 * from the packet path's would gain (the first step of evaluating the rules off the packet thread).
 */
import { NumberSet } from '../rules/engine/number-set.ts';
import { K_MODBUS_TX, type ModbusTxSubject, type Subject, WORD_ADDRESS } from '../rules/engine/subjects.ts';

/** Event times (ms) of the newest events of a group, at most `capacity`: fires when it holds `capacity` in `spanMs`. */
class TimeRing {
  private readonly times: Float64Array;
  private head = 0;
  private count = 0;

  constructor(
    capacity: number,
    private readonly spanMs: number,
  ) {
    this.times = new Float64Array(capacity);
  }

  /** Counts an event at `t`; true when the threshold is reached (the ring then starts again, as the engine's does). */
  push(t: number): boolean {
    const times = this.times;
    const cap = times.length;
    if (this.count === cap) {
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      this.count--;
    }
    const at = this.head + this.count;
    times[at >= cap ? at - cap : at] = t;
    this.count++;
    while (this.count > 0 && t - (times[this.head] as number) > this.spanMs) {
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      this.count--;
    }
    if (this.count < cap) return false;
    this.count = 0;
    this.head = 0;
    return true;
  }
}

const NOT_SEEN = -1;

/** Distinct byte values with their last-seen time; stale ones are dropped by a scan at most once per second. */
class ByteValues {
  private readonly seen = new Float64Array(256).fill(NOT_SEEN);
  private distinct = 0;
  private nextScanMs = Number.NEGATIVE_INFINITY;
  private reached = false;

  constructor(
    private readonly threshold: number,
    private readonly spanMs: number,
  ) {}

  add(v: number, t: number): boolean {
    if (this.seen[v] === NOT_SEEN) this.distinct++;
    this.seen[v] = t;
    if (this.distinct < this.threshold) return false;
    if (t < this.nextScanMs) return this.reached;
    this.nextScanMs = t + 1000;
    for (let i = 0; i < 256; i++) {
      const s = this.seen[i] as number;
      if (s !== NOT_SEEN && t - s > this.spanMs) {
        this.seen[i] = NOT_SEEN;
        this.distinct--;
      }
    }
    this.reached = this.distinct >= this.threshold;
    return this.reached;
  }
}

class SuppressionWindow {
  endMs = Number.NEGATIVE_INFINITY;
  count = 0;
}

const WRITE_RULE_SLOT = new Int8Array(256).fill(-1);
for (const [slot, fc] of [5, 6, 15, 16, 21, 22, 23].entries()) WRITE_RULE_SLOT[fc] = slot;
/** Suppression slots after the seven write rules: one per correlation rule. */
const SLOT_REQUEST_FLOOD = 7;
const SLOT_WRITE_FLOOD = 8;
const SLOT_ILLEGAL_ADDRESS = 9;
const SLOT_FUNC_SWEEP = 10;
const SLOT_UNIT_SWEEP = 11;
const SLOT_ADDRESS_SWEEP = 12;
const SLOTS = 13;
const HOUR_MS = 3_600_000;

/** Everything the floor keeps for one client/server pair. */
class PairState {
  readonly requests = new TimeRing(1000, 10_000);
  readonly writes = new TimeRing(100, 10_000);
  readonly illegalAddress = new TimeRing(3, 60_000);
  readonly funcs = new ByteValues(8, 60_000);
  readonly units = new ByteValues(10, 60_000);
  readonly addressesByUnit = new Map<number, NumberSet>();
  readonly windows = Array.from({ length: SLOTS }, () => new SuppressionWindow());
  lastUnit = -1;
  lastAddresses: NumberSet | null = null;
  lastAddress = -1;
  lastAddressPos = -1;
}

/**
 * What a flow's `ruleState` slot holds: a small wrapper, not the PairState itself. Storing the PairState directly
 * measured 0.01–0.08 lower ratios in five of five alternating runs (the cause was not found), and a floor should be
 * as cheap as it can be.
 */
class FloorFlowState {
  constructor(readonly pair: PairState) {}
}

const QUEUE = 4096;

export class ModbusRulesFloor {
  readonly stats = { alerts: 0, suppressed: 0, evaluations: 0 };
  private readonly pairs = new Map<string, PairState>();
  private queued = 0;
  private readonly qPair: (PairState | null)[] = new Array<PairState | null>(QUEUE).fill(null);
  private readonly qTime = new Float64Array(QUEUE);
  private readonly qBits = new Uint8Array(QUEUE);
  private readonly qFunc = new Uint8Array(QUEUE);
  private readonly qUnit = new Uint8Array(QUEUE);
  private readonly qAddress = new Int32Array(QUEUE);

  constructor(private readonly deferred = false) {}

  wants(kind: number): boolean {
    return kind === K_MODBUS_TX;
  }

  wantsAny(kinds: readonly number[]): boolean {
    return kinds.includes(K_MODBUS_TX);
  }

  flush(): void {
    this.drain();
  }

  sweep(): void {
    this.drain();
  }

  evaluate(kind: number, subject: Subject): void {
    if (kind !== K_MODBUS_TX) return;
    const s = subject as ModbusTxSubject;
    const tx = s.tx;
    if (tx === null) return;
    this.stats.evaluations++;
    const p = this.pairOf(s);
    const t = s.tsSec * 1000 + s.tsNsec / 1e6;
    const isRequest = tx.kind === 'paired' || tx.kind === 'unanswered';
    const illegal = tx.isException && tx.exceptionCode === 2;
    const address = s.requestWord(WORD_ADDRESS) ?? -1;
    if (!this.deferred) {
      this.work(p, t, isRequest, illegal, tx.func & 255, tx.unit & 255, address);
      return;
    }
    const i = this.queued++;
    this.qPair[i] = p;
    this.qTime[i] = t;
    this.qBits[i] = (isRequest ? 1 : 0) | (illegal ? 2 : 0);
    this.qFunc[i] = tx.func & 255;
    this.qUnit[i] = tx.unit & 255;
    this.qAddress[i] = address;
    if (this.queued === QUEUE) this.drain();
  }

  private drain(): void {
    const n = this.queued;
    this.queued = 0;
    for (let i = 0; i < n; i++) {
      const bits = this.qBits[i] as number;
      this.work(
        this.qPair[i] as PairState,
        this.qTime[i] as number,
        (bits & 1) !== 0,
        (bits & 2) !== 0,
        this.qFunc[i] as number,
        this.qUnit[i] as number,
        this.qAddress[i] as number,
      );
      this.qPair[i] = null;
    }
  }

  private work(
    p: PairState,
    t: number,
    isRequest: boolean,
    illegal: boolean,
    func: number,
    unit: number,
    address: number,
  ): void {
    if (isRequest && p.requests.push(t)) this.fire(p, SLOT_REQUEST_FLOOD, t);
    const writeSlot = WRITE_RULE_SLOT[func] as number;
    if (writeSlot >= 0) {
      this.fire(p, writeSlot, t);
      if (p.writes.push(t)) this.fire(p, SLOT_WRITE_FLOOD, t);
    }
    if (illegal && p.illegalAddress.push(t)) this.fire(p, SLOT_ILLEGAL_ADDRESS, t);
    if (p.funcs.add(func, t)) this.fire(p, SLOT_FUNC_SWEEP, t);
    if (p.units.add(unit, t)) this.fire(p, SLOT_UNIT_SWEEP, t);
    if (address >= 0) this.countAddress(p, unit, address, t);
  }

  private countAddress(p: PairState, unit: number, address: number, t: number): void {
    let set = p.lastAddresses;
    if (unit !== p.lastUnit || set === null) {
      set = p.addressesByUnit.get(unit) ?? null;
      if (set === null) {
        set = new NumberSet();
        p.addressesByUnit.set(unit, set);
      }
      p.lastUnit = unit;
      p.lastAddresses = set;
      p.lastAddress = -1;
    }
    if (address === p.lastAddress && p.lastAddressPos >= 0) {
      set.times[p.lastAddressPos] = t;
      return;
    }
    const pos = set.findOrAdd(address);
    set.times[pos] = t;
    p.lastAddress = address;
    p.lastAddressPos = pos;
    if (set.size >= 100) {
      set.dropOlderThan(t, 60_000);
      if (set.size >= 100) {
        this.fire(p, SLOT_ADDRESS_SWEEP, t);
        set.clear();
        p.lastAddress = -1;
        p.lastAddressPos = -1;
      }
    }
  }

  private pairOf(s: ModbusTxSubject): PairState {
    const flow = s.flow;
    const cached = flow.ruleState;
    if (cached instanceof FloorFlowState) return cached.pair;
    const key = `${flow.clientIp}|${flow.serverIp}`;
    let pair = this.pairs.get(key);
    if (pair === undefined) {
      pair = new PairState();
      this.pairs.set(key, pair);
    }
    flow.ruleState = new FloorFlowState(pair);
    return pair;
  }

  private fire(p: PairState, slot: number, t: number): void {
    const w = p.windows[slot] as SuppressionWindow;
    if (t < w.endMs) {
      w.count++;
      this.stats.suppressed++;
      return;
    }
    w.endMs = t + HOUR_MS;
    w.count = 0;
    this.stats.alerts++;
  }
}
