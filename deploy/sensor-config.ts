/**
 * The sensor's deployment config file (YAML, written by `otdeploy creds sensor`, read by `otsensor --config FILE`).
 * Relative file paths in it are relative to the config file's own directory, so an issued sensor directory can be
 * copied to the sensor machine as is. The loader returns them resolved to absolute paths.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ConnectionOptions } from '@nats-io/transport-node';
import { nkeyAuthenticator } from '@nats-io/transport-node';
import { parse } from 'yaml';
import { SUBJECT_TOKEN, sensorInboxPrefix } from '../protocols/wire/messages.ts';

export interface SensorTlsConfig {
  /** CA certificate that signed the server's certificate. */
  caFile: string;
  /** Client certificate and key, when the server requires mutual TLS. */
  certFile?: string;
  keyFile?: string;
}

export interface SensorConfigFile {
  sensor: string;
  province: string;
  enterprise: string;
  nats: {
    /** One URL or a comma-separated list (`tls://a:4222,tls://b:4222`). */
    url: string;
    /** File holding the sensor's nkey seed (mode 0600). */
    nkeySeedFile: string;
    tls?: SensorTlsConfig;
  };
  outbox: {
    dir: string;
    maxBytes: number;
  };
  /**
   * Optional memory caps as `NAME=VALUE` (the `limits:` mapping, e.g. `flows: 262144`, `app-buffer: 256M`): the same
   * as `otsensor --limit` flags, which come after them (a flag wins). Names and ranges are checked by otsensor
   * (sensor/cli/limits.ts) when it starts, naming this file.
   */
  limits?: string[];
}

export class SensorConfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}: ${field === '' ? '' : `field '${field}' `}${problem}`);
    this.name = 'SensorConfigError';
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads, validates and path-resolves a sensor config file; throws SensorConfigError naming the file and field. */
export function loadSensorConfig(path: string): SensorConfigFile {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SensorConfigError(file, '', `cannot be read (${(err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new SensorConfigError(file, '', `is not valid YAML (${(err as Error).message})`);
  }
  return validateSensorConfig(doc, file);
}

/** Validates a parsed config; `file` names it in errors and anchors relative paths. */
export function validateSensorConfig(doc: unknown, file: string): SensorConfigFile {
  const base = dirname(file);
  const fail = (field: string, problem: string): never => {
    throw new SensorConfigError(file, field, problem);
  };
  if (!isObj(doc)) return fail('', 'must be a YAML mapping');
  const token = (field: string, v: unknown): string => {
    if (typeof v !== 'string') return fail(field, 'is missing or not a string');
    if (!SUBJECT_TOKEN.test(v)) return fail(field, `'${v}' must be 1-64 letters, digits, '_' or '-'`);
    return v;
  };
  const filePath = (field: string, v: unknown): string => {
    if (typeof v !== 'string' || v === '') return fail(field, 'is missing or not a file path');
    return isAbsolute(v) ? v : resolve(base, v);
  };
  const sensor = token('sensor', doc['sensor']);
  const province = token('province', doc['province']);
  const enterprise = token('enterprise', doc['enterprise']);
  const nats = doc['nats'];
  if (!isObj(nats)) return fail('nats', 'is missing or not a mapping');
  const url = nats['url'];
  if (typeof url !== 'string' || url === '') return fail('nats.url', 'is missing or not a string');
  for (const one of url.split(',')) {
    if (!/^(nats|tls):\/\/[^\s/]+$/.test(one.trim()))
      return fail('nats.url', `'${one}' is not a nats:// or tls:// URL`);
  }
  const nkeySeedFile = filePath('nats.nkeySeedFile', nats['nkeySeedFile']);
  let tls: SensorTlsConfig | undefined;
  const t = nats['tls'];
  if (t !== undefined && t !== null) {
    if (!isObj(t)) return fail('nats.tls', 'must be a mapping');
    tls = { caFile: filePath('nats.tls.caFile', t['caFile']) };
    const hasCert = t['certFile'] !== undefined;
    const hasKey = t['keyFile'] !== undefined;
    if (hasCert !== hasKey)
      return fail(hasCert ? 'nats.tls.keyFile' : 'nats.tls.certFile', 'is required with the other');
    if (hasCert) {
      tls.certFile = filePath('nats.tls.certFile', t['certFile']);
      tls.keyFile = filePath('nats.tls.keyFile', t['keyFile']);
    }
  }
  const outbox = doc['outbox'];
  if (!isObj(outbox)) return fail('outbox', 'is missing or not a mapping');
  const dir = filePath('outbox.dir', outbox['dir']);
  const maxBytes = outbox['maxBytes'];
  if (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 1024 * 1024) {
    return fail('outbox.maxBytes', 'must be an integer of at least 1048576 (1 MiB)');
  }
  const limits = doc['limits'];
  let limitFlags: string[] | undefined;
  if (limits !== undefined && limits !== null) {
    if (!isObj(limits)) return fail('limits', 'must be a mapping of limit names to values (e.g. flows: 262144)');
    limitFlags = [];
    for (const [name, value] of Object.entries(limits)) {
      if (typeof value !== 'number' && typeof value !== 'string') {
        return fail(`limits.${name}`, 'must be a number or a size such as 256M');
      }
      limitFlags.push(`${name}=${value}`);
    }
  }
  return {
    sensor,
    province,
    enterprise,
    nats: { url, nkeySeedFile, ...(tls === undefined ? {} : { tls }) },
    outbox: { dir, maxBytes },
    ...(limitFlags === undefined ? {} : { limits: limitFlags }),
  };
}

/**
 * Reads the seed file, refusing one that group or others can read (like ssh does with private keys), and returns
 * the seed bytes. The seed is never put into an error message.
 */
export function readSeedFile(path: string): Uint8Array {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) {
    throw new Error(
      `${path}: seed file is accessible by group/others (mode ${(st.mode & 0o777).toString(8)}); chmod 600`,
    );
  }
  const text = readFileSync(path, 'utf8').trim();
  if (!/^SU[A-Z2-7]{56}$/.test(text)) throw new Error(`${path}: does not hold a user nkey seed (SU...)`);
  return new TextEncoder().encode(text);
}

/**
 * NATS connection options for a sensor: servers, nkey authenticator, TLS, and the inbox prefix its permissions
 * allow (without it, JetStream acks and clock replies would be refused by the server).
 */
export function sensorConnectionOptions(config: SensorConfigFile): ConnectionOptions {
  const seed = readSeedFile(config.nats.nkeySeedFile);
  const tls = config.nats.tls;
  return {
    servers: config.nats.url.split(',').map((u) => u.trim()),
    authenticator: nkeyAuthenticator(seed),
    inboxPrefix: sensorInboxPrefix(config),
    name: `otsensor ${config.province}.${config.enterprise}.${config.sensor}`,
    ...(tls === undefined
      ? {}
      : {
          tls: {
            caFile: tls.caFile,
            ...(tls.certFile === undefined ? {} : { certFile: tls.certFile }),
            ...(tls.keyFile === undefined ? {} : { keyFile: tls.keyFile }),
          },
        }),
  };
}
