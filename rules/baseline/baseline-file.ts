/**
 * The baseline file: YAML an engineer reads, edits and versions. `formatBaseline` writes it deterministically (keys in
 * natural order, short lists inline, names beside codes); `parseBaseline` reads it back with validation: every
 * problem (YAML syntax, unknown field, wrong type, bad range, unknown protocol) is a `BaselineFileError` naming the
 * file, line and column. Unknown fields are errors, not silently ignored, so a typo cannot disable a check.
 */
import { isIP } from 'node:net';
import {
  Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type Scalar,
  visit,
  type YAMLMap,
} from 'yaml';
import { BASELINE_PROTOCOLS, type BaselineProtocol } from './features.ts';
import {
  BASELINE_FILE_VERSION,
  type Baseline,
  type BaselineSettings,
  DEFAULT_SETTINGS,
  emptyFunctionProfile,
  type FunctionProfile,
  naturalCompare,
  type ProtocolProfile,
} from './model.ts';
import { formatRange, parseRange, type Range } from './ranges.ts';

export class BaselineFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}:${col}: ${problem}`);
    this.name = 'BaselineFileError';
  }
}

// --- Writing -----------------------------------------------------------------------------------------------------------

const HEADER = [
  ' otsensor baseline: the traffic learned as normal, per client → server → protocol.',
  ' Review and edit freely (remove what should never happen, add what may); see docs/baseline.md.',
  ' `otsensor read FILE... --baseline THIS` / `otsensor live --baseline THIS` alert on deviations.',
].join('\n');

function sortedKeys<T>(m: Map<string, T>): string[] {
  return [...m.keys()].sort(naturalCompare);
}

/** Numeric keys written as YAML integers (`4:` rather than `"4":`). */
function keyOut(key: string): string | number {
  return /^(0|[1-9]\d*)$/.test(key) ? Number(key) : key;
}

function rangesOut(ranges: readonly Range[]): Array<string | number> {
  return ranges.map((r) => (r[0] === r[1] ? r[0] : formatRange(r)));
}

function spacesOut(spaces: Map<string, Range[]>): Map<string, Array<string | number>> {
  const out = new Map<string, Array<string | number>>();
  for (const k of sortedKeys(spaces)) out.set(k, rangesOut(spaces.get(k) ?? []));
  return out;
}

function functionsOut(fns: Map<string, FunctionProfile>): Map<string | number, Map<string, unknown>> {
  const out = new Map<string | number, Map<string, unknown>>();
  for (const k of sortedKeys(fns)) {
    const f = fns.get(k);
    if (!f) continue;
    const entry = new Map<string, unknown>([
      ['name', f.name],
      ['count', f.count],
    ]);
    if (f.read.size > 0) entry.set('read', spacesOut(f.read));
    if (f.write.size > 0) entry.set('write', spacesOut(f.write));
    if (f.targets.length > 0) entry.set('targets', [...f.targets].sort(naturalCompare));
    out.set(keyOut(k), entry);
  }
  return out;
}

function profileOut(p: ProtocolProfile): Map<string, unknown> {
  const out = new Map<string, unknown>();
  out.set(
    'ports',
    [...p.ports].sort((a, b) => a - b),
  );
  if (p.units.length > 0)
    out.set(
      'units',
      [...p.units].sort((a, b) => a - b),
    );
  out.set('requests', p.requests);
  out.set('firstSeen', p.firstSeen);
  out.set('lastSeen', p.lastSeen);
  const rate = new Map<string, number>([
    ['typicalPerMin', p.rate.typicalPerMin],
    ['peakPerMin', p.rate.peakPerMin],
  ]);
  if (p.rate.limitPerMin !== undefined) rate.set('limitPerMin', p.rate.limitPerMin);
  out.set('rate', rate);
  out.set('functions', functionsOut(p.functions));
  if (p.userdata.size > 0) out.set('userdata', functionsOut(p.userdata));
  if (p.szlIds.length > 0)
    out.set(
      'szlIds',
      [...p.szlIds].sort((a, b) => Number(a) - Number(b) || naturalCompare(a, b)),
    );
  return out;
}

/** The baseline as YAML text; the same baseline always gives the same bytes. */
export function formatBaseline(b: Baseline): string {
  const learned = new Map<string, unknown>([
    ['from', b.learned.from],
    ['to', b.learned.to],
  ]);
  if (b.learned.iface !== undefined) learned.set('iface', b.learned.iface);
  learned.set('files', b.learned.files);
  learned.set('events', b.learned.events);
  const dropped = Object.keys(b.learned.dropped).sort();
  if (dropped.length > 0) learned.set('dropped', new Map(dropped.map((k) => [k, b.learned.dropped[k]])));
  const settings = new Map<string, number>([
    ['rateFactor', b.settings.rateFactor],
    ['rateWindowSec', b.settings.rateWindowSec],
    ['rateMinRequests', b.settings.rateMinRequests],
    ['rangeSlack', b.settings.rangeSlack],
  ]);
  const talkers = new Map<string, unknown>();
  for (const client of sortedKeys(b.talkers)) {
    const servers = b.talkers.get(client) ?? new Map();
    const serversOut = new Map<string, unknown>();
    for (const server of sortedKeys(servers)) {
      const protos = servers.get(server) ?? new Map();
      const protosOut = new Map<string, unknown>();
      for (const proto of BASELINE_PROTOCOLS) {
        const p = protos.get(proto);
        if (p) protosOut.set(proto, profileOut(p));
      }
      serversOut.set(server, protosOut);
    }
    talkers.set(client, serversOut);
  }
  const root = new Map<string, unknown>([
    ['version', b.version],
    ['sensor', b.sensor],
    ['learned', learned],
    ['settings', settings],
    ['talkers', talkers],
  ]);
  const doc = new Document(root);
  doc.commentBefore = HEADER;
  // Lists of codes, ranges and ids read best on one line; so does the two-number rate.
  visit(doc, {
    Seq(_, node) {
      node.flow = true;
    },
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === 'rate' && isMap(pair.value)) pair.value.flow = true;
    },
  });
  return doc.toString({ lineWidth: 120 });
}

// --- Reading -----------------------------------------------------------------------------------------------------------

class FileReader {
  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  fail(node: Node | null | undefined, problem: string, offset = 0): never {
    const at = node?.range?.[0] ?? offset;
    const pos = this.lines.linePos(at);
    throw new BaselineFileError(this.file, pos.line, pos.col, problem);
  }

  /** The entries of a map node as [key text, value node, key node]; null/empty value counts as an empty map. */
  entries(node: Node | null | undefined, what: string, parent: Node | null): Array<[string, Node | null, Node]> {
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return [];
    if (!isMap(node)) return this.fail(node ?? parent, `${what} must be a map`);
    const out: Array<[string, Node | null, Node]> = [];
    for (const pair of (node as YAMLMap).items) {
      if (!isPair(pair) || !isScalar(pair.key)) this.fail(node, `${what}: keys must be plain values`);
      const key = pair.key as Scalar;
      out.push([scalarText(key), (pair.value as Node | null) ?? null, key]);
    }
    return out;
  }

  /** Checks that a map has only the allowed keys; returns key → value node. */
  fields(node: Node | null | undefined, what: string, allowed: readonly string[], parent: Node | null) {
    const out = new Map<string, Node | null>();
    for (const [k, v, keyNode] of this.entries(node, what, parent)) {
      if (!allowed.includes(k)) this.fail(keyNode, `unknown field '${k}' in ${what} (allowed: ${allowed.join(', ')})`);
      out.set(k, v);
    }
    return out;
  }

  number(node: Node | null, what: string, opts: { integer?: boolean; min?: number } = {}): number {
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isFinite(node.value)) {
      return this.fail(node, `${what} must be a number`);
    }
    const v = node.value;
    if (opts.integer && !Number.isInteger(v)) this.fail(node, `${what} must be an integer`);
    if (opts.min !== undefined && v < opts.min) this.fail(node, `${what} must be ≥ ${opts.min}`);
    return v;
  }

  string(node: Node | null, what: string): string {
    if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
      return this.fail(node, `${what} must be a text value`);
    }
    return scalarText(node);
  }

  list(node: Node | null, what: string): Node[] {
    if (node === null || (isScalar(node) && node.value === null)) return [];
    if (!isSeq(node)) return this.fail(node, `${what} must be a list`);
    return node.items as Node[];
  }
}

/** The value as written: `0x0011` stays `0x0011` (YAML would read it as 17), `4.10` stays `4.10`. */
function scalarText(s: Scalar): string {
  return typeof s.source === 'string' && s.type === 'PLAIN' ? s.source : String(s.value);
}

const TOP_FIELDS = ['version', 'sensor', 'learned', 'settings', 'talkers'] as const;
const LEARNED_FIELDS = ['from', 'to', 'iface', 'files', 'events', 'dropped'] as const;
const SETTINGS_FIELDS = ['rateFactor', 'rateWindowSec', 'rateMinRequests', 'rangeSlack'] as const;
const PROFILE_FIELDS = [
  'ports',
  'units',
  'requests',
  'firstSeen',
  'lastSeen',
  'rate',
  'functions',
  'userdata',
  'szlIds',
] as const;
const RATE_FIELDS = ['typicalPerMin', 'peakPerMin', 'limitPerMin'] as const;
const FUNCTION_FIELDS = ['name', 'count', 'read', 'write', 'targets'] as const;

/** Parses and validates a baseline file. Throws BaselineFileError (file:line:col: problem) on any problem. */
export function parseBaseline(text: string, file: string): Baseline {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const r = new FileReader(file, lines);
  const yamlError = doc.errors[0];
  if (yamlError) {
    const problem = (yamlError.message.split('\n')[0] ?? 'YAML error').replace(/ at line \d+, column \d+:?$/, '');
    r.fail(null, problem, yamlError.pos[0]);
  }
  const root = doc.contents as Node | null;
  if (!root || !isMap(root))
    return r.fail(root, 'a baseline file is a YAML map (version, sensor, learned, settings, talkers)');
  const top = r.fields(root, 'the baseline', TOP_FIELDS, null);
  const versionNode = top.get('version') ?? null;
  if (!top.has('version')) r.fail(root, "missing field 'version'");
  const version = r.number(versionNode, 'version', { integer: true });
  if (version !== BASELINE_FILE_VERSION) {
    r.fail(versionNode, `unsupported baseline version ${version} (this sensor reads version ${BASELINE_FILE_VERSION})`);
  }
  if (!top.has('talkers')) r.fail(root, "missing field 'talkers'");
  const sensorNode = top.get('sensor');
  const sensor = sensorNode ? r.string(sensorNode, 'sensor') : 'local';

  const learned: Baseline['learned'] = { from: '', to: '', files: [], events: 0, dropped: {} };
  const l = r.fields(top.get('learned'), 'learned', LEARNED_FIELDS, root);
  if (l.get('from')) learned.from = r.string(l.get('from') ?? null, 'learned.from');
  if (l.get('to')) learned.to = r.string(l.get('to') ?? null, 'learned.to');
  if (l.get('iface')) learned.iface = r.string(l.get('iface') ?? null, 'learned.iface');
  learned.files = r.list(l.get('files') ?? null, 'learned.files').map((n) => r.string(n, 'a learned file'));
  if (l.get('events')) learned.events = r.number(l.get('events') ?? null, 'learned.events', { integer: true, min: 0 });
  for (const [k, v] of r.entries(l.get('dropped'), 'learned.dropped', root)) {
    learned.dropped[k] = r.number(v, `learned.dropped.${k}`, { integer: true, min: 0 });
  }

  const settings: BaselineSettings = { ...DEFAULT_SETTINGS };
  const s = r.fields(top.get('settings'), 'settings', SETTINGS_FIELDS, root);
  const sv = (k: (typeof SETTINGS_FIELDS)[number], integer: boolean, min: number) => {
    const n = s.get(k);
    if (n !== undefined) settings[k] = r.number(n, `settings.${k}`, { integer, min });
  };
  sv('rateFactor', false, 0);
  sv('rateWindowSec', false, 1);
  sv('rateMinRequests', true, 0);
  sv('rangeSlack', true, 0);

  const talkers: Baseline['talkers'] = new Map();
  for (const [client, serversNode, clientKey] of r.entries(top.get('talkers'), 'talkers', root)) {
    if (isIP(client) === 0) r.fail(clientKey, `talkers: '${client}' is not an IP address (client)`);
    const servers = new Map<string, Map<BaselineProtocol, ProtocolProfile>>();
    talkers.set(client, servers);
    for (const [server, protosNode, serverKey] of r.entries(serversNode, `talkers.${client}`, clientKey)) {
      if (isIP(server) === 0) r.fail(serverKey, `talkers.${client}: '${server}' is not an IP address (server)`);
      const protos = new Map<BaselineProtocol, ProtocolProfile>();
      servers.set(server, protos);
      for (const [proto, profileNode, protoKey] of r.entries(protosNode, `talkers.${client}.${server}`, serverKey)) {
        if (!(BASELINE_PROTOCOLS as readonly string[]).includes(proto)) {
          r.fail(protoKey, `unknown protocol '${proto}' (known: ${BASELINE_PROTOCOLS.join(', ')})`);
        }
        const where = `${client} → ${server} ${proto}`;
        protos.set(proto as BaselineProtocol, readProfile(r, profileNode, protoKey, where, proto as BaselineProtocol));
      }
    }
  }
  return { version, sensor, learned, settings, talkers };
}

function readProfile(
  r: FileReader,
  node: Node | null,
  parent: Node,
  where: string,
  proto: BaselineProtocol,
): ProtocolProfile {
  const f = r.fields(node, where, PROFILE_FIELDS, parent);
  const ints = (k: string, max: number) =>
    r.list(f.get(k) ?? null, `${where} ${k}`).map((n) => {
      const v = r.number(n, `${where} ${k}`, { integer: true, min: 0 });
      if (v > max) r.fail(n, `${where} ${k}: ${v} is above ${max}`);
      return v;
    });
  const p: ProtocolProfile = {
    ports: ints('ports', 65535),
    units: ints('units', 255),
    requests: f.get('requests')
      ? r.number(f.get('requests') ?? null, `${where} requests`, { integer: true, min: 0 })
      : 0,
    firstSeen: f.get('firstSeen') ? r.string(f.get('firstSeen') ?? null, `${where} firstSeen`) : '',
    lastSeen: f.get('lastSeen') ? r.string(f.get('lastSeen') ?? null, `${where} lastSeen`) : '',
    rate: { typicalPerMin: 0, peakPerMin: 0 },
    functions: readFunctions(r, f.get('functions') ?? null, parent, `${where} functions`, proto, false),
    userdata: readFunctions(r, f.get('userdata') ?? null, parent, `${where} userdata`, proto, true),
    szlIds: r.list(f.get('szlIds') ?? null, `${where} szlIds`).map((n) => {
      const t = r.string(n, `${where} szlIds`);
      if (!/^0x[0-9a-fA-F]{1,4}$/.test(t)) r.fail(n, `${where} szlIds: '${t}' is not an SZL id like 0x0011`);
      return `0x${t.slice(2).toLowerCase().padStart(4, '0')}`;
    }),
  };
  if (f.get('userdata') && proto !== 's7comm') r.fail(f.get('userdata'), `${where}: userdata is S7comm only`);
  const rate = r.fields(f.get('rate'), `${where} rate`, RATE_FIELDS, parent);
  const rv = (k: (typeof RATE_FIELDS)[number]) => {
    const n = rate.get(k);
    return n === undefined ? undefined : r.number(n, `${where} rate.${k}`, { min: 0 });
  };
  p.rate.typicalPerMin = rv('typicalPerMin') ?? 0;
  p.rate.peakPerMin = rv('peakPerMin') ?? 0;
  const limit = rv('limitPerMin');
  if (limit !== undefined) p.rate.limitPerMin = limit;
  return p;
}

function readFunctions(
  r: FileReader,
  node: Node | null,
  parent: Node,
  where: string,
  proto: BaselineProtocol,
  userdata: boolean,
): Map<string, FunctionProfile> {
  const out = new Map<string, FunctionProfile>();
  for (const [key, value, keyNode] of r.entries(node, where, parent)) {
    if (userdata) {
      if (!/^\d{1,2}\.\d{1,3}$/.test(key)) r.fail(keyNode, `${where}: '${key}' is not a userdata 'group.subfunction'`);
    } else if (proto !== 's7comm-plus' && !/^(0|[1-9]\d*)$/.test(key)) {
      r.fail(keyNode, `${where}: '${key}' is not a function code / service id (an integer)`);
    } else if (proto === 'modbus' && Number(key) > 255) {
      r.fail(keyNode, `${where}: Modbus function code ${key} is above 255`);
    }
    const f = r.fields(value, `${where} ${key}`, FUNCTION_FIELDS, keyNode);
    const fn = emptyFunctionProfile(f.get('name') ? r.string(f.get('name') ?? null, `${where} ${key} name`) : '');
    if (f.get('count')) fn.count = r.number(f.get('count') ?? null, `${where} ${key} count`, { integer: true, min: 0 });
    readSpaces(r, f.get('read') ?? null, keyNode, `${where} ${key} read`, fn.read);
    readSpaces(r, f.get('write') ?? null, keyNode, `${where} ${key} write`, fn.write);
    fn.targets = r.list(f.get('targets') ?? null, `${where} ${key} targets`).map((n) => r.string(n, 'a target'));
    out.set(key, fn);
  }
  return out;
}

function readSpaces(r: FileReader, node: Node | null, parent: Node, where: string, into: Map<string, Range[]>): void {
  for (const [space, list, spaceKey] of r.entries(node, where, parent)) {
    const ranges: Range[] = [];
    for (const n of r.list(list, `${where} ${space}`)) {
      const text = isScalar(n) && typeof n.value === 'number' ? String(n.value) : r.string(n, `${where} ${space}`);
      const range = parseRange(text);
      if (!range) r.fail(n, `${where} ${space}: '${text}' is not an address or range like 10 or 0-63`);
      ranges.push(range);
    }
    if (ranges.length === 0) r.fail(spaceKey, `${where} ${space}: give at least one address or range`);
    into.set(space, ranges);
  }
}
