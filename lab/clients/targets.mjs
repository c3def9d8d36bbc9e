// Where the lab's devices listen, passed to the client processes as one JSON argument (lab/lab.ts builds it).
/** @returns {{ modbus: { host: string, port: number }, s7: { host: string, port: number }, opcua: { url: string } }} */
export function parseTargets(text) {
  const t = JSON.parse(text ?? '');
  if (!t?.modbus?.host || !t?.s7?.host || !t?.opcua?.url) throw new Error('targets: need modbus, s7 and opcua');
  return t;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
