/**
 * `otlab`: the simulated plant (docs/lab.md).
 *
 *   otlab up [--netns] [--no-hmi] [--run-dir DIR] [--pki DIR]
 *   otlab attack STEP [--run-dir DIR]
 *   otlab status|down [--run-dir DIR]
 *   otlab steps
 *
 * Exit status: 0 ok, 1 failure, 2 usage error. JSON on stdout, messages on stderr.
 */
import { parseArgs } from 'node:util';
import { defaultRunDir, labAttack, labDown, labUp, readLabState } from './lab.ts';
import { isLabStep, LAB_STEPS } from './steps.ts';

const USAGE = `usage:
  otlab up [--netns] [--no-hmi] [--run-dir DIR] [--pki DIR]
      Start the plant: a Modbus/TCP tank PLC (modbus-serial), an S7 CPU (node-snap7), an OPC UA server with None and
      Basic256Sha256 SignAndEncrypt endpoints (node-opcua), and an HMI polling all three. Loopback by default
      (capture on lo); --netns puts PLCs, HMI and attacker in network namespaces on a bridge (root): capture on otlab0.
      Prints the lab state (capture interface, addresses) as JSON.
  otlab attack STEP [--run-dir DIR]
      Run one attack step from the attacker: ${Object.keys(LAB_STEPS).join(', ')}.
  otlab status [--run-dir DIR]       the state of the running lab (exit 1 when none)
  otlab down [--run-dir DIR]         stop every lab process by PID and remove the namespaces
  otlab steps                        the attack steps and the rule each raises
  Run dir default: $OTLAB_RUN_DIR or ${defaultRunDir()}.
`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    (command === undefined ? process.stderr : process.stdout).write(USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        netns: { type: 'boolean', default: false },
        'no-hmi': { type: 'boolean', default: false },
        'run-dir': { type: 'string' },
        pki: { type: 'string' },
      },
    });
    const runDir = values['run-dir'] ?? defaultRunDir();
    if (command === 'up') {
      const state = await labUp({
        runDir,
        netns: values.netns,
        hmi: !values['no-hmi'],
        ...(values.pki !== undefined ? { pkiDir: values.pki } : {}),
      });
      process.stdout.write(`${JSON.stringify(state)}\n`);
      process.stderr.write(`otlab: up (${state.mode}); capture on ${state.iface}; 'otlab down' stops it\n`);
      return 0;
    }
    if (command === 'attack') {
      const step = positionals[0];
      if (step === undefined || !isLabStep(step)) {
        throw new UsageError(`attack: give a step: ${Object.keys(LAB_STEPS).join(', ')}`);
      }
      const r = await labAttack(step, { runDir });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code === 0 ? 0 : 1;
    }
    if (command === 'status') {
      const state = readLabState(runDir);
      if (state === null) {
        process.stderr.write('otlab: no lab is up\n');
        return 1;
      }
      process.stdout.write(`${JSON.stringify(state)}\n`);
      return 0;
    }
    if (command === 'down') {
      const r = await labDown({ runDir });
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return 0;
    }
    if (command === 'steps') {
      for (const [name, s] of Object.entries(LAB_STEPS)) {
        process.stdout.write(`${JSON.stringify({ step: name, rule: s.rule, level: s.level, what: s.what })}\n`);
      }
      return 0;
    }
    throw new UsageError(`unknown command '${command}'`);
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err)) {
      process.stderr.write(`otlab: ${err.message}\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
