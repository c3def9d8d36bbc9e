/**
 * `--publish` and its companions for `otsensor read`, `live` and `flush`: where to publish (NATS URL), as whom
 * (province, enterprise, sensor id, nkey seed file), how (TLS files), and the outbox. Flags win over the sensor config
 * file (`--config FILE`, the YAML `otdeploy creds sensor` writes).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PublishConfig } from '../publish/session.ts';
import { UsageError } from './usage-error.ts';

export const PUBLISH_OPTIONS = {
  publish: { type: 'string' },
  config: { type: 'string' },
  province: { type: 'string' },
  enterprise: { type: 'string' },
  nkey: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  outbox: { type: 'string' },
  'outbox-max-bytes': { type: 'string' },
  'health-interval': { type: 'string' },
  'stats-interval': { type: 'string' },
  'asset-interval': { type: 'string' },
  'drain-timeout': { type: 'string' },
  drill: { type: 'boolean', default: false },
} as const;

export const PUBLISH_USAGE = `  Publishing (read, live, flush): --publish NATS_URL sends alerts, assets, health and stats to the collector over
      NATS JetStream through a disk-backed outbox (docs/publishing.md). Identity and transport: --config FILE (the
      sensor file 'otdeploy creds sensor' writes) or --province P --enterprise E --sensor-id S [--nkey SEEDFILE]
      [--tls-ca F --tls-cert F --tls-key F]; --outbox DIR [--outbox-max-bytes N]; --health-interval SEC (10),
      --stats-interval SEC (60), --asset-interval SEC (5); read waits --drain-timeout SEC (60) for acks at the end;
      --drill marks everything as drill traffic.
`;

export interface PublishFlags {
  publish?: string | undefined;
  config?: string | undefined;
  province?: string | undefined;
  enterprise?: string | undefined;
  nkey?: string | undefined;
  'tls-ca'?: string | undefined;
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
  outbox?: string | undefined;
  'outbox-max-bytes'?: string | undefined;
  'health-interval'?: string | undefined;
  'stats-interval'?: string | undefined;
  'asset-interval'?: string | undefined;
  'drain-timeout'?: string | undefined;
  drill?: boolean | undefined;
}

/** The sensor config file's shape (deploy/sensor-config.ts validates it). */
export interface SensorFileConfig {
  sensor: string;
  province: string;
  enterprise: string;
  nats: { url: string; nkeySeedFile?: string; tls?: { caFile?: string; certFile?: string; keyFile?: string } };
  outbox?: { dir?: string; maxBytes?: number };
  /** Memory caps as `NAME=VALUE` (see limits.ts). */
  limits?: string[];
}

export type ConfigLoader = (path: string) => Promise<SensorFileConfig>;

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--${name} must be a positive number`);
  return n;
}

/**
 * The publishing configuration from flags (and the config file), or null when the run does not publish.
 * `sensorId` is the `--sensor-id` flag when it was given explicitly.
 */
export async function publishConfigFrom(
  flags: PublishFlags,
  sensorId: string | undefined,
  loadConfig: ConfigLoader,
): Promise<(PublishConfig & { drainTimeoutSec: number }) | null> {
  const file = flags.config === undefined ? null : await loadConfig(flags.config);
  const url = flags.publish ?? file?.nats.url;
  if (url === undefined) {
    if (flags.province !== undefined || flags.enterprise !== undefined || flags.outbox !== undefined) {
      throw new UsageError('--province/--enterprise/--outbox need --publish NATS_URL (or --config FILE)');
    }
    return null;
  }
  const province = flags.province ?? file?.province;
  const enterprise = flags.enterprise ?? file?.enterprise;
  const sensor = sensorId ?? file?.sensor;
  if (province === undefined || enterprise === undefined || sensor === undefined) {
    throw new UsageError('--publish needs --province, --enterprise and --sensor-id (or --config FILE)');
  }
  const identity = { province, enterprise, sensor };
  const tlsCa = flags['tls-ca'] ?? file?.nats.tls?.caFile;
  const tlsCert = flags['tls-cert'] ?? file?.nats.tls?.certFile;
  const tlsKey = flags['tls-key'] ?? file?.nats.tls?.keyFile;
  const tls =
    tlsCa !== undefined || tlsCert !== undefined || tlsKey !== undefined
      ? { caFile: tlsCa, certFile: tlsCert, keyFile: tlsKey }
      : undefined;
  const outboxDir =
    flags.outbox ??
    file?.outbox?.dir ??
    join(homedir(), '.local', 'state', 'otsensor', `${province}.${enterprise}.${sensor}`);
  const maxBytesText = flags['outbox-max-bytes'];
  const outboxMaxBytes =
    maxBytesText !== undefined ? positive('outbox-max-bytes', maxBytesText, 0) : file?.outbox?.maxBytes;
  return {
    url,
    identity,
    nkeySeedFile: flags.nkey ?? file?.nats.nkeySeedFile,
    tls,
    outboxDir,
    outboxMaxBytes,
    healthIntervalSec: positive('health-interval', flags['health-interval'], 10),
    statsIntervalSec: positive('stats-interval', flags['stats-interval'], 60),
    assetIntervalSec: positive('asset-interval', flags['asset-interval'], 5),
    drill: flags.drill === true,
    drainTimeoutSec: positive('drain-timeout', flags['drain-timeout'], 60),
  };
}
