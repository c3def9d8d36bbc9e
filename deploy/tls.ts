/**
 * A small private PKI for the NATS links, made with the system `openssl`: one CA, a server certificate (also valid
 * as a client certificate, because cluster routes and leafnode links are TLS in both directions) and a client
 * certificate (sensors or leafnodes when mutual TLS is wanted). P-256 keys: fast to make, accepted everywhere.
 * Private keys are written 0600; the CA key should then be moved off the server.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface TlsFiles {
  dir: string;
  caFile: string;
  caKeyFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

export interface TlsInitOptions {
  /** Names / addresses the server certificate is valid for; localhost and 127.0.0.1 are always added. */
  hosts?: string[];
  days?: number;
  /** Overwrite existing files (otherwise an existing CA is refused, so it is never replaced by accident). */
  force?: boolean;
}

export function tlsFiles(outDir: string): TlsFiles {
  const dir = join(outDir, 'tls');
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    caKeyFile: join(dir, 'ca-key.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server-key.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client-key.pem'),
  };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const HOST = /^[A-Za-z0-9.*-]{1,253}$/;

export function initTls(outDir: string, options: TlsInitOptions = {}): TlsFiles {
  const f = tlsFiles(outDir);
  if (existsSync(f.caFile) && options.force !== true) {
    throw new Error(`${f.caFile} exists; pass --force to make a new CA (every issued certificate changes)`);
  }
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  const days = String(options.days ?? 825);
  const hosts = [...new Set(['localhost', '127.0.0.1', ...(options.hosts ?? [])])];
  for (const h of hosts) if (!HOST.test(h) && isIP(h) === 0) throw new TypeError(`'${h}' is not a host name or IP`);
  const san = hosts.map((h) => (isIP(h) === 0 ? `DNS:${h}` : `IP:${h}`)).join(',');
  const curve = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  openssl([
    'req',
    '-x509',
    ...curve,
    '-keyout',
    f.caKeyFile,
    '-out',
    f.caFile,
    '-days',
    String(options.days ?? 3650),
    '-subj',
    '/CN=otwatch NATS CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const leaf = (cert: string, key: string, cn: string, ext: string): void => {
    const csr = `${cert}.csr`;
    const extFile = `${cert}.ext`;
    writeFileSync(extFile, ext);
    try {
      openssl(['req', '-new', ...curve, '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
      openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        f.caFile,
        '-CAkey',
        f.caKeyFile,
        '-CAcreateserial',
        '-out',
        cert,
        '-days',
        days,
        '-extfile',
        extFile,
      ]);
    } finally {
      rmSync(csr, { force: true });
      rmSync(extFile, { force: true });
    }
  };
  leaf(
    f.serverCertFile,
    f.serverKeyFile,
    hosts.find((h) => h !== 'localhost' && h !== '127.0.0.1') ?? 'localhost',
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}\n`,
  );
  leaf(
    f.clientCertFile,
    f.clientKeyFile,
    'otwatch client',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  rmSync(join(f.dir, 'ca.srl'), { force: true });
  for (const key of [f.caKeyFile, f.serverKeyFile, f.clientKeyFile]) chmodSync(key, 0o600);
  return f;
}
