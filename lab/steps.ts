/**
 * The lab's scripted attack steps and the bundled rule each one must raise (lab/clients/attack.mjs sends them;
 * docs/lab.md explains them). Drills use `expect` as the default expectation of a `lab:` step.
 */
export const LAB_STEPS = {
  'modbus-unit-sweep': { rule: 'ot.modbus.unit_id_sweep', level: 'medium', what: 'read 20 unit ids on the tank PLC' },
  'modbus-fc-sweep': {
    rule: 'ot.modbus.function_code_sweep',
    level: 'medium',
    what: 'try 9 function codes on the tank PLC',
  },
  'modbus-write-storm': {
    rule: 'ot.modbus.write_flood',
    level: 'medium',
    what: '160 coil and register writes in a few seconds',
  },
  's7-szl-scan': { rule: 'ot.s7.szl_sweep', level: 'medium', what: 'read 11 SZL lists from the S7 CPU' },
  's7-plc-stop': { rule: 'ot.s7.plc_stop', level: 'critical', what: 'stop the S7 CPU, restart it a second later' },
  'opcua-anonymous-write': {
    rule: 'ot.opcua.anonymous_control',
    level: 'high',
    what: 'anonymous session over SecurityMode None writes Pump.Speed and Pump.Running',
  },
} as const;

export type LabStep = keyof typeof LAB_STEPS;

export function isLabStep(name: string): name is LabStep {
  return Object.hasOwn(LAB_STEPS, name);
}
