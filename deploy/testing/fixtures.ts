/** Test helpers shared by the deploy tests: temp dirs, connecting as an issued user. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node';
import { freePort } from '../../tests/support/nats-server.ts';
import type { ConnectInfo } from '../creds.ts';
import { loadSensorConfig, sensorConnectionOptions } from '../sensor-config.ts';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `otdeploy-${prefix}-`));
}

/** Connects as an issued sensor, through its own sensor.yaml (exactly what the sensor will do). */
export async function connectSensor(
  configFile: string,
  extra: Partial<ConnectionOptions> = {},
): Promise<NatsConnection> {
  const options = sensorConnectionOptions(loadSensorConfig(configFile));
  return await connect({ ...options, ...extra });
}

/** Connects as an issued collector or admin (seed + connect.json from its directory). */
export async function connectService(
  dir: string,
  url: string,
  extra: Partial<ConnectionOptions> = {},
): Promise<NatsConnection> {
  const info = JSON.parse(readFileSync(join(dir, 'connect.json'), 'utf8')) as ConnectInfo;
  const seed = new TextEncoder().encode(readFileSync(join(dir, 'nkey.seed'), 'utf8').trim());
  return await connect({
    servers: url,
    authenticator: nkeyAuthenticator(seed),
    inboxPrefix: info.inboxPrefix,
    ...extra,
  });
}

/** A plain (no TLS) single server config around an auth include, for permission tests. */
export async function writePlainServerConfig(dir: string): Promise<{ configFile: string; url: string }> {
  const port = await freePort();
  const configFile = join(dir, 'server.conf');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:${port}"\nserver_name: perm_${port}\njetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }\ninclude "auth.conf"\n`,
  );
  return { configFile, url: `nats://127.0.0.1:${port}` };
}
