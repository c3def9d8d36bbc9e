/**
 * NATS credentials for sensors and collectors: one nkey user per sensor, allowed to publish only under its own
 * subject prefix and to read only its own reply inbox; collector users that consume the OT_V1 stream and answer the
 * clock service; admin users for stream management. The server never sees a seed (nkey auth is a signed challenge),
 * so the authorization block rendered here holds public keys only and may be world-readable; seeds go to 0600 files.
 *
 * Pure functions first (permission sets, key issue, rendering), then the small file layer `otdeploy` uses:
 *   <out>/users.json                       registry of every issued user (public keys + permissions, no seeds)
 *   <out>/auth.conf                        `authorization { users = [...] }`, included by the server configs
 *   <out>/sensors/<p>.<e>.<s>/nkey.seed    0600
 *   <out>/sensors/<p>.<e>.<s>/sensor.yaml  the sensor's config (deploy/sensor-config.ts)
 *   <out>/collectors/<name>/nkey.seed      0600, plus connect.json (inbox prefix the permissions expect)
 */

import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { stringify } from 'yaml';
import {
  type SensorIdentity,
  SUBJECT_TOKEN,
  sensorInboxPrefix,
  sensorSubjectPrefix,
  TIME_SUBJECT,
  WARNING_SUBJECT_PREFIX,
} from '../protocols/wire/messages.ts';
import { STREAM_NAME } from '../protocols/wire/streams.ts';
import type { SensorConfigFile } from './sensor-config.ts';

export interface SubjectPermission {
  allow?: string[];
  deny?: string[];
}

/** nats-server's `permissions` block of one user. */
export interface UserPermissions {
  publish: SubjectPermission;
  subscribe: SubjectPermission;
  /** Lets the user publish to the reply subject of a request it received (collector answering `ot.v1.time`). */
  allow_responses?: boolean;
}

/** One entry of the server's `authorization.users` list. */
export interface NatsUserEntry {
  nkey: string;
  permissions: UserPermissions;
}

/**
 * A province-side user an enterprise leafnode logs in as. nats-server 2.9 cannot authenticate a leafnode remote
 * with an nkey (added in 2.10.9), so this one is a random password, which makes users.json and auth.conf secrets
 * (both are written 0600).
 */
export interface LeafUserEntry {
  user: string;
  password: string;
  permissions: UserPermissions;
}

export interface IssuedCredentials {
  /** The private nkey seed (`SU...`): secret, written 0600, never logged. */
  seed: string;
  publicKey: string;
  user: NatsUserEntry;
}

export type UserRole = 'sensor' | 'collector' | 'admin' | 'leaf';

/** What users.json remembers of an issued user (never the seed). */
export interface RegisteredUser {
  role: UserRole;
  /** `<province>.<enterprise>.<sensor>` for sensors, the name for collectors and admins. */
  id: string;
  identity?: SensorIdentity;
  issuedAt: string;
  user: NatsUserEntry | LeafUserEntry;
}

export interface UserRegistry {
  version: 1;
  users: RegisteredUser[];
}

/** Subjects a sensor may use, and nothing else. */
export function sensorPermissions(id: SensorIdentity): UserPermissions {
  return {
    // A JetStream publish is a plain publish with a reply inbox: no `$JS.API` access is needed to be acked.
    publish: { allow: [`${sensorSubjectPrefix(id)}.>`, TIME_SUBJECT] },
    // Acks and clock replies come back under the sensor's own inbox prefix; nobody else's replies are readable.
    subscribe: { allow: [`${sensorInboxPrefix(id)}.>`] },
  };
}

export function collectorInboxPrefix(name: string): string {
  return `_INBOX.collector.${checkName(name)}`;
}

export function adminInboxPrefix(name: string): string {
  return `_INBOX.admin.${checkName(name)}`;
}

/**
 * A collector consumes OT_V1 through the durable pull consumer, keeps the stream's limits up to date
 * (`ensureStreams` at every start), publishes warnings and answers the clock service. It may not delete or purge
 * the stream, nor touch any other stream: a stolen collector key cannot destroy what the sensors sent.
 */
export function collectorPermissions(name: string): UserPermissions {
  const js = '$JS.API';
  return {
    publish: {
      allow: [
        `${js}.INFO`,
        `${js}.STREAM.NAMES`,
        `${js}.STREAM.INFO.${STREAM_NAME}`,
        `${js}.STREAM.CREATE.${STREAM_NAME}`,
        `${js}.STREAM.UPDATE.${STREAM_NAME}`,
        `${js}.CONSUMER.CREATE.${STREAM_NAME}`,
        `${js}.CONSUMER.CREATE.${STREAM_NAME}.>`,
        `${js}.CONSUMER.DURABLE.CREATE.${STREAM_NAME}.>`,
        `${js}.CONSUMER.INFO.${STREAM_NAME}.>`,
        `${js}.CONSUMER.NAMES.${STREAM_NAME}`,
        `${js}.CONSUMER.LIST.${STREAM_NAME}`,
        `${js}.CONSUMER.MSG.NEXT.${STREAM_NAME}.>`,
        `$JS.ACK.${STREAM_NAME}.>`,
        `${WARNING_SUBJECT_PREFIX}.>`,
      ],
    },
    subscribe: { allow: ['ot.v1.>', `${collectorInboxPrefix(name)}.>`] },
    allow_responses: true,
  };
}

/** Stream management (create, resize, delete, purge): used by `otdeploy streams ensure` and operators. */
export function adminPermissions(name: string): UserPermissions {
  return {
    publish: { allow: ['$JS.API.>', '$JS.ACK.>'] },
    subscribe: { allow: [`${adminInboxPrefix(name)}.>`] },
  };
}

function newUser(permissions: UserPermissions): IssuedCredentials {
  const kp = createUser();
  const seed = new TextDecoder().decode(kp.getSeed());
  const publicKey = kp.getPublicKey();
  kp.clear();
  return { seed, publicKey, user: { nkey: publicKey, permissions } };
}

export function issueSensorCredentials(id: SensorIdentity): IssuedCredentials {
  return newUser(sensorPermissions(id));
}

export function issueCollectorCredentials(name: string, options: { admin?: boolean } = {}): IssuedCredentials {
  return newUser(options.admin === true ? adminPermissions(name) : collectorPermissions(name));
}

function checkName(name: string): string {
  if (!SUBJECT_TOKEN.test(name)) {
    throw new TypeError(`name '${name}' is not a valid subject token (letters, digits, '_' or '-', ≤ 64)`);
  }
  return name;
}

/** `ot.v1.<p>.<e>.<s>` minus the root: the registry id and directory name of a sensor. */
export function sensorId(id: SensorIdentity): string {
  sensorSubjectPrefix(id);
  return `${id.province}.${id.enterprise}.${id.sensor}`;
}

/**
 * The nats-server `authorization` block for these users. Refuses an empty list: nats-server treats an empty users
 * list as "no authorization", which would open the server to anyone.
 */
export function renderAuthorization(
  users: readonly ((NatsUserEntry | LeafUserEntry) & { comment?: string })[],
): string {
  if (users.length === 0) throw new Error('no users to authorize: an empty users list would leave the server open');
  const lines = [
    '# Generated by otdeploy (deploy/creds.ts). Public keys only; re-render, do not edit.',
    'authorization {',
  ];
  lines.push('  users = [');
  for (const u of users) {
    if (u.comment !== undefined) lines.push(`    # ${u.comment.replace(/[\r\n]/g, ' ')}`);
    const perms = JSON.stringify(u.permissions);
    if ('nkey' in u) {
      if (!/^U[A-Z2-7]{55}$/.test(u.nkey)) throw new TypeError(`'${u.nkey}' is not a user public nkey`);
      lines.push(`    { nkey: ${JSON.stringify(u.nkey)}, permissions: ${perms} }`);
    } else {
      lines.push(
        `    { user: ${JSON.stringify(u.user)}, password: ${JSON.stringify(u.password)}, permissions: ${perms} }`,
      );
    }
  }
  lines.push('  ]', '}', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Files

/** Writes a secret (seed, key) readable by its owner only; tightens the mode of an existing file too. */
export function writeSecretFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, 'w', 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, 0o600);
}

export function registryPath(outDir: string): string {
  return join(outDir, 'users.json');
}

export function authConfPath(outDir: string): string {
  return join(outDir, 'auth.conf');
}

export function loadRegistry(outDir: string): UserRegistry {
  const path = registryPath(outDir);
  if (!existsSync(path)) return { version: 1, users: [] };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<UserRegistry>;
  if (parsed.version !== 1 || !Array.isArray(parsed.users)) throw new Error(`${path}: not an otdeploy users registry`);
  return { version: 1, users: parsed.users };
}

/** Saves the registry and re-renders auth.conf from it (the two never disagree). */
export function saveRegistry(outDir: string, registry: UserRegistry): void {
  mkdirSync(outDir, { recursive: true });
  writeSecretFile(registryPath(outDir), `${JSON.stringify(registry, null, 2)}\n`);
  renderAuthFile(outDir, registry);
}

/** Writes <out>/auth.conf from the registry; returns its path. */
export function renderAuthFile(outDir: string, registry: UserRegistry = loadRegistry(outDir)): string {
  const path = authConfPath(outDir);
  const text = renderAuthorization(
    registry.users.map((u) => ({ ...u.user, comment: `${u.role} ${u.id}, issued ${u.issuedAt}` })),
  );
  writeSecretFile(path, text);
  return path;
}

function writeTextFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w', 0o644);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

export interface IssueSensorOptions {
  natsUrl?: string;
  /** CA certificate the sensor verifies the server with; copied next to the sensor's config. */
  caFile?: string;
  /** Client certificate and key (mutual TLS); copied next to the config, the key 0600. */
  certFile?: string;
  keyFile?: string;
  outboxDir?: string;
  outboxMaxBytes?: number;
  /** Replace the key of an already issued sensor (the old key stops working at the next server reload). */
  rotate?: boolean;
}

export interface IssuedFiles {
  id: string;
  publicKey: string;
  seedFile: string;
  /** The sensor's YAML config (sensors) or connect.json (collectors, admins). */
  configFile: string;
  /** The seed, for `--print-seed` only: callers must not log it otherwise. */
  seed: string;
}

export const DEFAULT_NATS_URL = 'tls://127.0.0.1:4222';
export const DEFAULT_OUTBOX_MAX_BYTES = 256 * 1024 * 1024;

export function issueSensorToDir(outDir: string, id: SensorIdentity, options: IssueSensorOptions = {}): IssuedFiles {
  const key = sensorId(id);
  const registry = loadRegistry(outDir);
  const existing = registry.users.findIndex((u) => u.role === 'sensor' && u.id === key);
  if (existing >= 0 && options.rotate !== true) {
    throw new Error(`sensor ${key} already has credentials; pass --rotate to replace its key`);
  }
  const creds = issueSensorCredentials(id);
  const dir = join(outDir, 'sensors', key);
  const seedFile = join(dir, 'nkey.seed');
  writeSecretFile(seedFile, `${creds.seed}\n`);
  let tls: SensorConfigFile['nats']['tls'];
  if (options.caFile !== undefined) {
    copyFileSync(options.caFile, join(dir, 'ca.pem'));
    tls = { caFile: 'ca.pem' };
    if (options.certFile !== undefined && options.keyFile !== undefined) {
      copyFileSync(options.certFile, join(dir, 'client.pem'));
      writeSecretFile(join(dir, 'client-key.pem'), readFileSync(options.keyFile, 'utf8'));
      tls = { caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'client-key.pem' };
    }
  }
  const config: SensorConfigFile = {
    sensor: id.sensor,
    province: id.province,
    enterprise: id.enterprise,
    nats: {
      url: options.natsUrl ?? DEFAULT_NATS_URL,
      // Relative paths are resolved against the config file's directory, so the directory can be copied as is.
      nkeySeedFile: 'nkey.seed',
      ...(tls === undefined ? {} : { tls }),
    },
    outbox: {
      dir: options.outboxDir ?? `/var/lib/otwatch/outbox/${key}`,
      maxBytes: options.outboxMaxBytes ?? DEFAULT_OUTBOX_MAX_BYTES,
    },
  };
  const configFile = join(dir, 'sensor.yaml');
  writeTextFile(configFile, `# otwatch sensor ${key}: otsensor --config ${configFile}\n${stringify(config)}`);
  const record: RegisteredUser = {
    role: 'sensor',
    id: key,
    identity: { province: id.province, enterprise: id.enterprise, sensor: id.sensor },
    issuedAt: new Date().toISOString(),
    user: creds.user,
  };
  if (existing >= 0) registry.users[existing] = record;
  else registry.users.push(record);
  saveRegistry(outDir, registry);
  return { id: key, publicKey: creds.publicKey, seedFile, configFile, seed: creds.seed };
}

/** What a collector / admin process needs besides its seed to pass its own permissions. */
export interface ConnectInfo {
  role: 'collector' | 'admin';
  name: string;
  inboxPrefix: string;
  natsUrl?: string;
}

export function issueCollectorToDir(
  outDir: string,
  name: string,
  options: { admin?: boolean; rotate?: boolean; natsUrl?: string } = {},
): IssuedFiles {
  const role: 'collector' | 'admin' = options.admin === true ? 'admin' : 'collector';
  checkName(name);
  const registry = loadRegistry(outDir);
  const existing = registry.users.findIndex((u) => u.role === role && u.id === name);
  if (existing >= 0 && options.rotate !== true) {
    throw new Error(`${role} ${name} already has credentials; pass --rotate to replace its key`);
  }
  const creds = issueCollectorCredentials(name, { admin: role === 'admin' });
  const dir = join(outDir, role === 'admin' ? 'admins' : 'collectors', name);
  const seedFile = join(dir, 'nkey.seed');
  writeSecretFile(seedFile, `${creds.seed}\n`);
  const info: ConnectInfo = {
    role,
    name,
    inboxPrefix: role === 'admin' ? adminInboxPrefix(name) : collectorInboxPrefix(name),
    ...(options.natsUrl === undefined ? {} : { natsUrl: options.natsUrl }),
  };
  const configFile = join(dir, 'connect.json');
  writeTextFile(configFile, `${JSON.stringify(info, null, 2)}\n`);
  const record: RegisteredUser = { role, id: name, issuedAt: new Date().toISOString(), user: creds.user };
  if (existing >= 0) registry.users[existing] = record;
  else registry.users.push(record);
  saveRegistry(outDir, registry);
  return { id: name, publicKey: creds.publicKey, seedFile, configFile, seed: creds.seed };
}

/**
 * Removes a sensor's user from the registry and auth.conf (the server must then reload). `sensor` alone must name
 * exactly one sensor; province / enterprise narrow it down when the same sensor name exists in several places.
 */
export function revokeSensorInDir(
  outDir: string,
  match: { sensor: string; province?: string; enterprise?: string },
): RegisteredUser {
  const registry = loadRegistry(outDir);
  const hits = registry.users.filter(
    (u) =>
      u.role === 'sensor' &&
      u.identity?.sensor === match.sensor &&
      (match.province === undefined || u.identity.province === match.province) &&
      (match.enterprise === undefined || u.identity.enterprise === match.enterprise),
  );
  if (hits.length === 0) throw new Error(`no credentials issued for sensor '${match.sensor}' in ${outDir}`);
  if (hits.length > 1) {
    throw new Error(
      `sensor '${match.sensor}' is ambiguous (${hits.map((h) => h.id).join(', ')}): add --province / --enterprise`,
    );
  }
  const [hit] = hits as [RegisteredUser];
  registry.users = registry.users.filter((u) => u !== hit);
  if (registry.users.length === 0) {
    throw new Error(`revoking ${hit.id} would leave no users (and an open server); issue another user first`);
  }
  saveRegistry(outDir, registry);
  return hit;
}

/**
 * What the hub lets an enterprise's leafnode carry. Measured on nats-server 2.9.10: any subject restriction on the
 * leafnode user (publish `ot.v1.<p>.<e>.>`, subscribe `_INBOX.<p>.<e>.>`, either way round, or both) stops the
 * hub's JetStream interest (`ot.v1.*.*.*.<kind>`, wider than the allow list) from reaching the leaf, and every
 * publish from the leaf then fails with "no responders". So the leafnode link itself is unrestricted inside the
 * account; what keeps an enterprise's sensors in their lane is their own nkey users on the leafnode (the same
 * sensor permissions, enforced there), mutual TLS on the link, and the collector rejecting a message whose identity
 * disagrees with its subject. Scoping the link needs nats-server >= 2.10 or one account per enterprise (docs/nats.md).
 */
export function leafPermissions(province: string, enterprise: string): UserPermissions {
  sensorSubjectPrefix({ province, enterprise, sensor: 'x' }); // validates the tokens
  return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
}

/** Issues (or with `rotate`, replaces) the hub-side user of an enterprise leafnode; returns its user and password. */
export function issueLeafToDir(
  outDir: string,
  province: string,
  enterprise: string,
  options: { rotate?: boolean } = {},
): { id: string; user: string; password: string } {
  const permissions = leafPermissions(province, enterprise);
  const id = `${province}.${enterprise}`;
  const registry = loadRegistry(outDir);
  const existing = registry.users.findIndex((u) => u.role === 'leaf' && u.id === id);
  if (existing >= 0 && options.rotate !== true) {
    throw new Error(`leafnode ${id} already has credentials; pass --rotate to replace them`);
  }
  const user = `leaf-${province}-${enterprise}`;
  const password = randomBytes(24).toString('base64url');
  const record: RegisteredUser = {
    role: 'leaf',
    id,
    issuedAt: new Date().toISOString(),
    user: { user, password, permissions },
  };
  if (existing >= 0) registry.users[existing] = record;
  else registry.users.push(record);
  saveRegistry(outDir, registry);
  return { id, user, password };
}

export function revokeCollectorInDir(
  outDir: string,
  name: string,
  role: 'collector' | 'admin' | 'leaf' = 'collector',
): RegisteredUser {
  const registry = loadRegistry(outDir);
  const hit = registry.users.find((u) => u.role === role && u.id === name);
  if (hit === undefined) throw new Error(`no credentials issued for ${role} '${name}' in ${outDir}`);
  registry.users = registry.users.filter((u) => u !== hit);
  if (registry.users.length === 0) {
    throw new Error(`revoking ${hit.id} would leave no users (and an open server); issue another user first`);
  }
  saveRegistry(outDir, registry);
  return hit;
}

/** Asks a running nats-server to re-read its configuration (same as `nats-server --signal reload=<pid>`). */
export function reloadServer(pidOrPidFile: number | string): number {
  const pid =
    typeof pidOrPidFile === 'number' ? pidOrPidFile : Number.parseInt(readFileSync(resolve(pidOrPidFile), 'utf8'), 10);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no valid nats-server pid in ${String(pidOrPidFile)}`);
  process.kill(pid, 'SIGHUP');
  return pid;
}
