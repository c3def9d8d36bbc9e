/**
 * `otsensor creds ...`: the same credential commands as `otdeploy creds` (deploy/creds-cli.ts), so an operator on a
 * sensor host needs one tool only. Wire it in main.ts as: `if (cmd === 'creds') return await runCredsCommand(rest);`
 */
import { runCreds } from '../../deploy/creds-cli.ts';

/** Runs `creds <sensor|collector|leaf|revoke|list> ...`; returns the exit code. */
export async function runCredsCommand(argv: string[]): Promise<number> {
  return await runCreds(argv);
}
