/**
 * `creds ...` subcommands, shared by `otdeploy creds` and `otsensor creds` (sensor/cli/creds.ts). Seeds are written
 * to 0600 files and only printed with `--print-seed`; everything else printed is public (keys, paths).
 */
import { parseArgs } from 'node:util';
import {
  issueCollectorToDir,
  issueLeafToDir,
  issueSensorToDir,
  loadRegistry,
  reloadServer,
  revokeCollectorInDir,
  revokeSensorInDir,
} from './creds.ts';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const STDIO: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export const CREDS_USAGE = `creds sensor    --province P --enterprise E --sensor S --out DIR [--nats-url URL] [--ca FILE]
                [--cert FILE --key FILE] [--outbox-dir DIR] [--outbox-max-bytes N] [--rotate] [--print-seed]
creds collector --name N --out DIR [--admin] [--nats-url URL] [--rotate] [--print-seed]
creds leaf      --province P --enterprise E --out DIR [--rotate]
creds revoke    (--sensor S [--province P] [--enterprise E] | --collector N | --admin N | --leaf P.E) --out DIR
creds list      --out DIR
  every command that changes users re-renders DIR/auth.conf; add --reload PID|PIDFILE to make nats-server reload it`;

const OPTIONS = {
  province: { type: 'string' },
  enterprise: { type: 'string' },
  sensor: { type: 'string' },
  name: { type: 'string' },
  collector: { type: 'string' },
  admin: { type: 'string' },
  leaf: { type: 'string' },
  out: { type: 'string' },
  'nats-url': { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'outbox-dir': { type: 'string' },
  'outbox-max-bytes': { type: 'string' },
  rotate: { type: 'boolean' },
  'print-seed': { type: 'boolean' },
  reload: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

function need(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** Runs one `creds` subcommand; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function runCreds(argv: readonly string[], io: CliIo = STDIO): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    // `--admin` is a flag for `creds collector` and a name for `creds revoke`.
    const opts =
      sub === 'collector' ? { ...OPTIONS, admin: { type: 'boolean' as const } } : (OPTIONS as typeof OPTIONS);
    const { values } = parseArgs({ args: [...rest], options: opts, allowPositionals: false, strict: true });
    const v = values as Record<string, unknown>;
    if (v['help'] === true || sub === undefined) {
      io.out(CREDS_USAGE);
      return sub === undefined ? 2 : 0;
    }
    const out = need(v, 'out');
    const str = (name: string): string | undefined => (typeof v[name] === 'string' ? (v[name] as string) : undefined);
    switch (sub) {
      case 'sensor': {
        const maxBytes = str('outbox-max-bytes');
        const issued = issueSensorToDir(
          out,
          { province: need(v, 'province'), enterprise: need(v, 'enterprise'), sensor: need(v, 'sensor') },
          {
            ...(str('nats-url') === undefined ? {} : { natsUrl: str('nats-url') as string }),
            ...(str('ca') === undefined ? {} : { caFile: str('ca') as string }),
            ...(str('cert') === undefined ? {} : { certFile: str('cert') as string }),
            ...(str('key') === undefined ? {} : { keyFile: str('key') as string }),
            ...(str('outbox-dir') === undefined ? {} : { outboxDir: str('outbox-dir') as string }),
            ...(maxBytes === undefined ? {} : { outboxMaxBytes: Number(maxBytes) }),
            rotate: v['rotate'] === true,
          },
        );
        io.out(`sensor ${issued.id}: public key ${issued.publicKey}`);
        io.out(`  seed (0600): ${issued.seedFile}`);
        io.out(`  config:      ${issued.configFile}`);
        if (v['print-seed'] === true) io.out(`  seed: ${issued.seed}`);
        break;
      }
      case 'collector': {
        const issued = issueCollectorToDir(out, need(v, 'name'), {
          admin: v['admin'] === true,
          rotate: v['rotate'] === true,
          ...(str('nats-url') === undefined ? {} : { natsUrl: str('nats-url') as string }),
        });
        io.out(`${v['admin'] === true ? 'admin' : 'collector'} ${issued.id}: public key ${issued.publicKey}`);
        io.out(`  seed (0600): ${issued.seedFile}`);
        io.out(`  connect:     ${issued.configFile}`);
        if (v['print-seed'] === true) io.out(`  seed: ${issued.seed}`);
        break;
      }
      case 'leaf': {
        const issued = issueLeafToDir(out, need(v, 'province'), need(v, 'enterprise'), {
          rotate: v['rotate'] === true,
        });
        io.out(`leafnode ${issued.id}: user ${issued.user} (password kept in ${out}/users.json, 0600)`);
        io.out(`  render its server config with: otdeploy config leaf --province P --enterprise E --creds ${out} ...`);
        break;
      }
      case 'revoke': {
        const sensor = str('sensor');
        const collector = str('collector');
        const admin = str('admin');
        const leaf = str('leaf');
        const chosen = [sensor, collector, admin, leaf].filter((x) => x !== undefined).length;
        if (chosen !== 1) throw new UsageError('give exactly one of --sensor, --collector, --admin, --leaf');
        const hit =
          sensor !== undefined
            ? revokeSensorInDir(out, {
                sensor,
                ...(str('province') === undefined ? {} : { province: str('province') as string }),
                ...(str('enterprise') === undefined ? {} : { enterprise: str('enterprise') as string }),
              })
            : collector !== undefined
              ? revokeCollectorInDir(out, collector, 'collector')
              : admin !== undefined
                ? revokeCollectorInDir(out, admin, 'admin')
                : revokeCollectorInDir(out, leaf ?? '', 'leaf');
        io.out(`revoked ${hit.role} ${hit.id}; ${out}/auth.conf re-rendered`);
        if (str('reload') === undefined) io.out('  reload nats-server for it to take effect (--reload PID|PIDFILE)');
        break;
      }
      case 'list': {
        for (const u of loadRegistry(out).users) {
          const key = 'nkey' in u.user ? u.user.nkey : `user ${u.user.user}`;
          io.out(`${u.role.padEnd(9)} ${u.id.padEnd(40)} ${key}  issued ${u.issuedAt}`);
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown creds command '${sub}'`);
    }
    const reload = str('reload');
    if (reload !== undefined) {
      const pid = reloadServer(/^\d+$/.test(reload) ? Number(reload) : reload);
      io.out(`  nats-server ${pid} asked to reload`);
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`otdeploy creds: ${(err as Error).message}\n${CREDS_USAGE}`);
      return 2;
    }
    io.err(`otdeploy creds ${sub ?? ''}: ${(err as Error).message}`);
    return 1;
  }
}
