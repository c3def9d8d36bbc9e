/**
 * Renders the nats-server configurations of deploy/nats/ (pilot, cluster node, enterprise leafnode): the templates
 * there are the documentation of record; this fills in their `{{NAME}}` placeholders and refuses to leave one
 * unfilled or to fill an unknown one, so a template and its renderer cannot drift apart silently.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

const TEMPLATE_DIR = new URL('./nats/', import.meta.url);

export type TemplateName = 'pilot' | 'cluster-node' | 'leafnode';

export function readTemplate(name: TemplateName): string {
  return readFileSync(new URL(`${name}.conf`, TEMPLATE_DIR), 'utf8');
}

/** Fills every `{{NAME}}`; throws on a placeholder without a value and on a value no placeholder uses. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const used = new Set<string>();
  const missing: string[] = [];
  const out = template.replace(/\{\{([A-Z_]+)\}\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) {
      missing.push(name);
      return '';
    }
    used.add(name);
    return v;
  });
  if (missing.length > 0) throw new Error(`template placeholders without a value: ${missing.join(', ')}`);
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`values no placeholder uses: ${unused.join(', ')}`);
  return out;
}

/** A quoted config string (nats-server accepts JSON strings). */
function q(s: string): string {
  return JSON.stringify(s);
}

export interface CommonServerOptions {
  /** Directory the rendered file is written to (relative includes are computed from it). */
  configDir: string;
  serverName: string;
  /** `host:port` of the client listener. */
  listen: string;
  /** Directory holding server.pem, server-key.pem, ca.pem (and client*.pem for a leafnode). */
  tlsDir: string;
  /** The authorization include (auth.conf rendered by `otdeploy auth render`). */
  authFile: string;
  pidFile?: string;
}

export interface JetStreamServerOptions extends CommonServerOptions {
  storeDir: string;
  /** nats-server size syntax (`8GB`) or bytes. */
  maxFileStore?: string;
  /** `host:port` to accept enterprise leafnodes on (mutual TLS); omitted: no leafnode listener. */
  leafnodeListen?: string;
}

function common(o: CommonServerOptions): Record<string, string> {
  const include = relative(resolve(o.configDir), resolve(o.authFile));
  // nats-server joins an include path to the including file's directory, so it must be relative.
  if (include.startsWith('/')) throw new Error(`auth include ${o.authFile} cannot be made relative`);
  return {
    SERVER_NAME: serverName(o.serverName),
    LISTEN: o.listen,
    PID_FILE: resolve(o.pidFile ?? resolve(o.configDir, `${o.serverName}.pid`)),
    TLS_DIR: resolve(o.tlsDir),
    AUTH_INCLUDE: include,
  };
}

function serverName(name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new TypeError(`server name '${name}': letters, digits, '_', '-'`);
  return name;
}

function leafnodeListenBlock(listen: string | undefined, tlsDir: string): string {
  if (listen === undefined) return '';
  const t = resolve(tlsDir);
  return [
    '# Enterprise leafnodes dial in here; they must present a certificate of our CA (mutual TLS).',
    'leafnodes {',
    `  listen: ${q(listen)}`,
    '  tls {',
    `    cert_file: ${q(`${t}/server.pem`)}`,
    `    key_file: ${q(`${t}/server-key.pem`)}`,
    `    ca_file: ${q(`${t}/ca.pem`)}`,
    '    verify: true',
    '    timeout: 2',
    '  }',
    '}',
    '',
  ].join('\n');
}

export function renderPilotConfig(o: JetStreamServerOptions): string {
  return fillTemplate(readTemplate('pilot'), {
    ...common(o),
    STORE_DIR: resolve(o.storeDir),
    MAX_FILE_STORE: o.maxFileStore ?? '16GB',
    LEAFNODE_LISTEN: leafnodeListenBlock(o.leafnodeListen, o.tlsDir),
  });
}

export interface ClusterNodeOptions extends JetStreamServerOptions {
  clusterName: string;
  /** `host:port` of this node's route listener. */
  routeListen: string;
  /** `host:port` of every node's route listener (this node's own may be included; nats-server skips itself). */
  routes: string[];
}

export function renderClusterNodeConfig(o: ClusterNodeOptions): string {
  if (o.routes.length < 2) throw new Error('a JetStream cluster needs at least 3 nodes (R3 streams)');
  return fillTemplate(readTemplate('cluster-node'), {
    ...common(o),
    STORE_DIR: resolve(o.storeDir),
    MAX_FILE_STORE: o.maxFileStore ?? '64GB',
    CLUSTER_NAME: serverName(o.clusterName),
    ROUTE_LISTEN: o.routeListen,
    ROUTES: o.routes.map((r) => `    ${q(`nats-route://${r}`)}`).join('\n'),
    LEAFNODE_LISTEN: leafnodeListenBlock(o.leafnodeListen, o.tlsDir),
  });
}

export interface LeafnodeOptions extends CommonServerOptions {
  /** The province's leafnode listeners, `host:port`. */
  hubs: string[];
  /** Leafnode user and password issued by `otdeploy creds leaf` (nats-server 2.9 remotes cannot use nkeys). */
  leafUser: string;
  leafPassword: string;
}

export function renderLeafnodeConfig(o: LeafnodeOptions): string {
  if (o.hubs.length === 0) throw new Error('a leafnode needs at least one hub address');
  const user = encodeURIComponent(o.leafUser);
  const pass = encodeURIComponent(o.leafPassword);
  return fillTemplate(readTemplate('leafnode'), {
    ...common(o),
    HUB_URLS: o.hubs.map((h) => q(`tls://${user}:${pass}@${h}`)).join(', '),
  });
}
