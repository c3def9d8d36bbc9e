/**
 * `--limit NAME=VALUE` (read and live, repeatable): the sensor's memory caps, for plants whose traffic the defaults
 * do not fit (a large site with more concurrent connections than the flow table holds, a small box that must stay
 * under its RAM). Every cap stays a cap: each is a positive integer, and what it turns away is counted in the run
 * report and the published health (docs/live-capture.md, "Memory limits"). Byte sizes take K, M, G (binary) suffixes.
 */
import type { PipelineOptions } from '../pipeline.ts';
import { UsageError } from './usage-error.ts';

interface LimitSpec {
  /** What it caps (for the usage text and errors). */
  what: string;
  bytes: boolean;
  min: number;
  max: number;
  set(options: LimitOptions, value: number): void;
}

/** The parts of the pipeline options the limits set. */
export type LimitOptions = Pick<
  PipelineOptions,
  'flows' | 'tcp' | 'modbus' | 's7' | 'opcua' | 'ruleEngine' | 'appBufferBytes'
>;

const GIB = 1024 ** 3;

type Section = 'flows' | 'tcp' | 'modbus' | 's7' | 'opcua' | 'ruleEngine';

/** Sets `key` of one options section, keeping what other limits set there. */
function field<S extends Section>(section: S, key: keyof NonNullable<LimitOptions[S]>): LimitSpec['set'] {
  return (o, v) => {
    o[section] = { ...o[section], [key]: v } as LimitOptions[S];
  };
}

export const LIMITS: Readonly<Record<string, LimitSpec>> = {
  flows: {
    what: 'flows held at once (default 65536; the least recently used is evicted)',
    bytes: false,
    min: 16,
    max: 16_777_216,
    set: field('flows', 'maxFlows'),
  },
  'tcp-buffer': {
    what: 'out-of-order TCP bytes all connections hold together (default 64M)',
    bytes: true,
    min: 64 * 1024,
    max: 16 * GIB,
    set: field('tcp', 'maxBufferedBytesTotal'),
  },
  'tcp-stream-buffer': {
    what: 'out-of-order TCP bytes one direction of a connection holds (default 256K)',
    bytes: true,
    min: 4 * 1024,
    max: GIB,
    set: field('tcp', 'maxBufferedBytesPerStream'),
  },
  'app-buffer': {
    what: 'S7 and OPC UA reassembly bytes all connections hold together (default 64M)',
    bytes: true,
    min: 64 * 1024,
    max: 16 * GIB,
    set: (o, v) => {
      o.appBufferBytes = v;
    },
  },
  'modbus-open-requests': {
    what: 'unanswered Modbus requests tracked per connection (default 256)',
    bytes: false,
    min: 1,
    max: 65_536,
    set: field('modbus', 'maxOpenTransactions'),
  },
  's7-open-requests': {
    what: 'unanswered S7comm requests tracked per connection (default 256)',
    bytes: false,
    min: 1,
    max: 65_536,
    set: field('s7', 'maxOpenRequests'),
  },
  's7-pdu': {
    what: 'largest S7comm PDU reassembled from COTP fragments (default 64K)',
    bytes: true,
    min: 1024,
    max: 16 * 1024 * 1024,
    set: field('s7', 'maxPduBytes'),
  },
  'opcua-open-requests': {
    what: 'unanswered OPC UA requests tracked per connection (default 1024)',
    bytes: false,
    min: 1,
    max: 1_048_576,
    set: field('opcua', 'maxOpenRequests'),
  },
  'opcua-chunk': {
    what: 'largest OPC UA chunk buffered when split over segments (default 1M)',
    bytes: true,
    min: 8 * 1024,
    // The parser frames no chunk above 16 MiB (protocols/opcua/constants.ts DEFAULT_MAX_CHUNK_SIZE).
    max: 16 * 1024 * 1024,
    set: field('opcua', 'maxBufferedChunk'),
  },
  'opcua-message': {
    what: 'largest OPC UA message reassembled from chunks (default 4M)',
    bytes: true,
    min: 8 * 1024,
    max: GIB,
    set: field('opcua', 'maxMessageSize'),
  },
  'rule-groups': {
    what: 'correlation groups per rule (default 10000; the oldest is evicted)',
    bytes: false,
    min: 1,
    max: 10_000_000,
    set: field('ruleEngine', 'maxGroupsPerRule'),
  },
  'rule-values': {
    what: 'distinct values per correlation group (default 4096)',
    bytes: false,
    min: 1,
    max: 1_000_000,
    set: field('ruleEngine', 'maxValuesPerGroup'),
  },
  'rule-suppress-keys': {
    what: 'open suppression windows per rule (default 10000; the oldest is closed early)',
    bytes: false,
    min: 1,
    max: 10_000_000,
    set: field('ruleEngine', 'maxSuppressKeysPerRule'),
  },
};

const SUFFIX: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: GIB };

function parseValue(origin: string, name: string, spec: LimitSpec, text: string): number {
  const m = (spec.bytes ? /^(\d+)([KMG]?)(?:i?B)?$/i : /^(\d+)()$/).exec(text.trim());
  const unit = (m?.[2] ?? '').toUpperCase();
  if (m === null) {
    throw new UsageError(`${origin} ${name}: '${text}' is not ${spec.bytes ? 'a size (e.g. 256M)' : 'a whole number'}`);
  }
  const value = Number(m[1]) * (SUFFIX[unit] ?? 1);
  if (!Number.isSafeInteger(value) || value < spec.min || value > spec.max) {
    throw new UsageError(`${origin} ${name}: ${text} is outside ${spec.min}..${spec.max}`);
  }
  return value;
}

/**
 * Pipeline options from `NAME=VALUE` limits (a later one for the same name wins). `origin` names where they came
 * from in error messages.
 */
export function parseLimits(flags: readonly string[], origin = '--limit'): LimitOptions {
  const options: LimitOptions = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const name = eq < 0 ? flag : flag.slice(0, eq);
    const spec = Object.hasOwn(LIMITS, name) ? LIMITS[name] : undefined;
    if (spec === undefined) {
      throw new UsageError(`${origin}: unknown limit '${name}' (known: ${Object.keys(LIMITS).join(', ')})`);
    }
    if (eq < 0) throw new UsageError(`${origin} ${name}: give a value (${name}=N)`);
    spec.set(options, parseValue(origin, name, spec, flag.slice(eq + 1)));
  }
  return options;
}

/**
 * The limits of a run: the sensor config file's `limits:` first (checked on their own, so that an error names the
 * file), then the `--limit` flags, which win.
 */
export function limitsOfRun(
  flags: readonly string[],
  file: { path: string; limits: readonly string[] } | null,
): LimitOptions {
  if (file === null) return parseLimits(flags);
  parseLimits(file.limits, `${file.path}: limits`);
  return parseLimits([...file.limits, ...flags]);
}

/** The usage lines of `--limit`. */
export function limitsUsage(): string {
  const names = Object.entries(LIMITS).map(([name, s]) => `        ${name.padEnd(20)} ${s.what}\n`);
  return `  --limit NAME=VALUE (read, live; repeatable) sets a memory cap (sizes take K, M, G):\n${names.join('')}`;
}
