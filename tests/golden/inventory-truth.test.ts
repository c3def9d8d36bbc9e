/**
 * The asset inventory of every capture in ../shared/pcaps against its tshark `.truth.json`: identity fields
 * (S7 SZL 0x0011 / 0x001C, Modbus device identification, OPC UA application and product URIs) and talkers; plus
 * role inference on an engineering download and on HMI polling, and vulnerable-firmware matching on the S7 scan.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AssetChangeEvent, SensorEvent } from '../../protocols/wire/events.ts';
import { analyseFile } from '../../sensor/analyse-file.ts';
import type { InventoryOptions } from '../../sensor/inventory/builder.ts';
import { InventorySink } from '../../sensor/inventory/sink.ts';
import type { AssetRecord, InventorySnapshot } from '../../sensor/inventory/types.ts';
import { runOtsensor } from '../support/cli.ts';
import { SHARED_PCAPS } from '../support/paths.ts';

interface Truth {
  modbus: { talkers: [string, string, string][]; device_identification: Record<string, string[]> };
  s7comm: { talkers: [string, string, string][]; identity?: Record<string, string[]> };
  s7comm_plus: { talkers: [string, string, string][] };
  opcua: { talkers: [string, string, string][]; application_uris: string[]; product_uris: string[] };
}

const CAPTURES = readdirSync(SHARED_PCAPS)
  .filter((f) => /\.pcap(ng)?$/.test(f))
  .sort();

async function inventoryOf(
  file: string,
  options: InventoryOptions = {},
): Promise<{ snap: InventorySnapshot; changes: AssetChangeEvent[] }> {
  const changes: AssetChangeEvent[] = [];
  const sink = new InventorySink(
    {
      emit: (e: SensorEvent) => {
        if (e.kind === 'asset.change') changes.push(e);
      },
    },
    options,
  );
  await analyseFile(join(SHARED_PCAPS, file), { events: sink });
  sink.finish();
  return { snap: sink.inventory.snapshot(), changes };
}

function asset(snap: InventorySnapshot, ip: string): AssetRecord {
  const a = snap.assets.find((x) => x.ip === ip);
  if (a === undefined) throw new Error(`no asset ${ip}`);
  return a;
}

/** tshark's SZL identity keys → inventory identity fields (value before tshark's " ausbg=" suffix for 0x0011). */
const SZL_FIELDS: Record<string, string> = {
  szl_0011_index_0x0001: 'orderNumber',
  szl_0011_index_0x0006: 'hardwareOrderNumber',
  szl_0011_index_0x0081: 'firmwareExtension',
  szl_001c_plc_name: 'plcName',
  szl_001c_module_name: 'moduleName',
  szl_001c_copyright: 'copyright',
  szl_001c_serial: 'serialNumber',
  szl_001c_module_type: 'moduleType',
  szl_001c_mmc_serial: 'memoryCardSerial',
};
const MODBUS_FIELDS: Record<string, string> = {
  '0': 'vendor',
  '1': 'productCode',
  '2': 'revision',
  '4': 'productName',
  '5': 'modelName',
};
/** tshark protocol names in talkers → event `proto`. */
const PROTO: Record<string, string> = {
  modbus: 'modbus',
  s7comm: 's7comm',
  s7comm_plus: 's7comm-plus',
  opcua: 'opcua',
};

function identityValues(snap: InventorySnapshot, field: string): string[] {
  return snap.assets.flatMap((a) =>
    Object.entries(a.identity)
      .filter(([k]) => k === field || k.startsWith(`${field}#`))
      .map(([, v]) => v.value),
  );
}

describe('inventory vs truth, every capture', () => {
  for (const file of CAPTURES) {
    it(file, async () => {
      const truth = JSON.parse(readFileSync(join(SHARED_PCAPS, `${file}.truth.json`), 'utf8')) as Truth;
      const { snap } = await inventoryOf(file);

      for (const [key, values] of Object.entries(truth.s7comm.identity ?? {})) {
        const field = SZL_FIELDS[key];
        if (field === undefined) continue; // 0x0011 index 7 has no order number, only the version (checked below)
        for (const v of values) {
          const expected = v.replace(/\s*ausbg=0x[0-9a-f]+$/, '').trim();
          if (expected === '') continue;
          expect(identityValues(snap, field), `${key}`).toContain(expected);
        }
      }
      for (const [id, values] of Object.entries(truth.modbus.device_identification)) {
        const field = MODBUS_FIELDS[id] ?? `object0x${Number(id).toString(16).padStart(2, '0')}`;
        for (const v of values) expect(identityValues(snap, field), `modbus object ${id}`).toContain(v);
      }

      const apps = new Set([
        ...snap.assets.flatMap((a) => a.applications.map((x) => x.applicationUri)),
        ...snap.discoveredApplications.map((x) => x.applicationUri),
      ]);
      const products = new Set([
        ...snap.assets.flatMap((a) => a.applications.map((x) => x.productUri ?? '')),
        ...snap.discoveredApplications.map((x) => x.productUri ?? ''),
      ]);
      products.delete('');
      // With a gap in the capture tshark lost the server's CreateSession response; we read it, so ours is a superset.
      const exact = !file.includes('with-gap');
      if (exact) {
        expect([...apps].sort()).toEqual([...truth.opcua.application_uris].sort());
        expect([...products].sort()).toEqual([...truth.opcua.product_uris].sort());
      } else {
        for (const u of truth.opcua.application_uris) expect(apps).toContain(u);
        for (const u of truth.opcua.product_uris) expect(products).toContain(u);
      }

      for (const section of ['modbus', 's7comm', 's7comm_plus', 'opcua'] as const) {
        for (const [src, dst, proto] of truth[section].talkers) {
          const a = asset(snap, src);
          asset(snap, dst);
          if (src === dst) continue;
          expect(a.peers[dst]?.[PROTO[proto] ?? proto], `${src} → ${dst} ${proto}`).toBeGreaterThan(0);
        }
      }
      // Nothing is dropped at default caps on these captures.
      expect(snap.stats.assetsDropped).toBe(0);
    });
  }
});

describe('inventory specifics', () => {
  it('S7 identity scan: order number 6ES7 315-2EH14-0AB0 with firmware V3.2.6, evidence and advisories', async () => {
    const { snap, changes } = await inventoryOf('icsnpp-s7comm__s7ident.pcap');
    const plc = asset(snap, '172.17.0.2');
    expect(plc.identity.orderNumber?.value).toBe('6ES7 315-2EH14-0AB0');
    expect(plc.identity.firmwareVersion?.value).toBe('V3.2.6');
    expect(plc.identity.orderNumber?.evidence).toMatchObject({
      protocol: 's7comm',
      message: 'S7 SZL 0x0011 index 0x0001 response',
      sensor: 'local',
      ts: '2024-10-04T21:24:25.937972Z',
    });
    expect(plc.identity.moduleName?.evidence.message).toBe('S7 SZL 0x001c index 0x0002 response');
    expect(plc.roles.map((r) => r.role)).toContain('plc');
    // V3.2.6 is below the V3.X.14 fix of SSA-731239 (CVE-2016-9158).
    const m = plc.advisories.find((x) => x.cve.includes('CVE-2016-9158'));
    expect(m?.status).toBe('affected');
    const alert = changes.find((c) => c.asset.change === 'advisory_match' && c.asset.advisory === m?.advisory);
    expect(alert?.asset).toMatchObject({ ip: '172.17.0.2', status: 'affected', version: 'V3.2.6' });
    expect(changes.filter((c) => c.asset.change === 'new_asset').map((c) => c.asset.ip)).toEqual(['172.17.0.2']);
  });

  it('engineering download: the workstation and the PLC', async () => {
    const { snap } = await inventoryOf('gymgit__step7_s300_download.pcapng');
    const es = asset(snap, '134.249.53.130');
    const plc = asset(snap, '134.249.61.182');
    expect(es.role).toBe('engineering_workstation');
    expect(es.roles[0]?.reasons.join(' ')).toMatch(/download/);
    expect(plc.role).toBe('plc');
    expect(plc.served).toContainEqual({ proto: 's7comm', port: 102 });
    expect(es.peers['134.249.61.182']?.s7comm).toBeGreaterThan(0);
  });

  it('PLC stop: the workstation that stopped it', async () => {
    const { snap } = await inventoryOf('gymgit__step7_s300_stop.pcapng');
    expect(asset(snap, '134.249.62.199').role).toBe('engineering_workstation');
    expect(asset(snap, '134.249.61.163').role).toBe('plc');
    expect(asset(snap, '134.249.61.163').macVendor).toMatch(/Siemens/i);
  });

  it('HMI polling: WinCC against an S7-400, and a TIA HMI against an S7-1200 (S7comm-plus)', async () => {
    const wincc = await inventoryOf('gymgit__wincc_s400_production.pcapng');
    expect(asset(wincc.snap, '194.250.63.239').role).toBe('hmi');
    expect(asset(wincc.snap, '194.250.63.170').role).toBe('plc');
    const tia = await inventoryOf('iti__s7-1200-hmi.pcap');
    const hmi = asset(tia.snap, '192.168.25.177');
    expect(hmi.role).toBe('hmi');
    expect(hmi.roles[0]?.reasons.join(' ')).toMatch(/SIMATIC-ROOT-HMI/);
    expect(asset(tia.snap, '192.168.25.131').role).toBe('plc');
  });

  it('Modbus example: device identification strings with evidence, gateway MAC not attributed', async () => {
    const { snap } = await inventoryOf('icsnpp-modbus__modbus_example.pcap');
    const server = asset(snap, '127.0.0.1');
    expect(server.identity.vendor?.value).toBe('Zeek Modbus Test');
    expect(server.identity.productCode?.value).toBe('Protocol Parsing is fun!');
    expect(server.identity.revision?.value).toBe('1.2.3.6');
    expect(server.identity.vendor?.evidence.message).toBe(
      'Modbus FC43/14 Read Device Identification response (unit 1)',
    );
    expect(server.identity.serverId?.evidence.message).toMatch(/^Modbus FC17 Report Server ID response/);
    // 3.15.227.20 is reached through a router: the MAC in front of it is the router's (NETGEAR), not its own.
    const remote = asset(snap, '3.15.227.20');
    expect(remote.mac).toBeNull();
    expect(remote.macs[0]?.gateway).toBe(true);
    expect(asset(snap, '192.168.1.6').mac).toBe('04:0e:3c:1f:4b:c1');
  });

  it('OPC UA: server and client applications on their sides, certificate facts with validity', async () => {
    const { snap } = await inventoryOf('icsnpp-opcua__python_opcua-client-server_minimal.pcap');
    const host = asset(snap, '127.0.0.1');
    expect(host.applications.find((a) => a.side === 'server')?.applicationUri).toBe('urn:freeopcua:python:server');
    expect(host.applications.find((a) => a.side === 'client')?.applicationUri).toBe('urn:freeopcua:client');
    const enc = await inventoryOf('icsnpp-opcua__open62541_client-server_encrypted.pcap');
    const certs = asset(enc.snap, '::1').certificates;
    expect(certs.length).toBeGreaterThan(0);
    expect(certs[0]).toMatchObject({ validFrom: expect.any(String), validTo: expect.any(String) });
    expect(certs.map((c) => c.subject)).toContain('C=DE, O=open62541, CN=open62541Server@localhost');
  });

  it('a second master writing to a PLC after its learning period is a new_master change', async () => {
    // 10.10.10.20 polls the PLC from the start; 10.10.10.66 writes to it 3.3 s later.
    const learned = await inventoryOf('qut__ChangeLowerThreshold.master.pcap', { newMasterLearningSec: 2 });
    const nm = learned.changes.filter((c) => c.asset.change === 'new_master');
    expect(nm.map((c) => [c.asset.ip, c.asset.master, c.asset.knownMasters])).toEqual([
      ['10.10.10.10', '10.10.10.66', ['10.10.10.20']],
    ]);
    // Change ids are `<cause event id>:asset:<n>`: this event first created 10.10.10.66 (n = 1).
    expect(nm[0]?.id).toMatch(/^[0-9a-f]+:\d+:asset:2$/);
    // Within the (default 60 s) learning period both masters are the PLC's baseline.
    const baseline = await inventoryOf('qut__ChangeLowerThreshold.master.pcap');
    expect(baseline.changes.filter((c) => c.asset.change === 'new_master')).toEqual([]);
  });
});

describe('otsensor read --inventory / --inventory-csv', () => {
  it('prints the inventory as JSON and as CSV (one row per asset)', async () => {
    const file = join(SHARED_PCAPS, 'icsnpp-modbus__modbus_example.pcap');
    const json = await runOtsensor(['read', file, '--inventory']);
    expect(json.code).toBe(0);
    const snap = JSON.parse(json.stdout) as InventorySnapshot;
    expect(snap.assets.map((a) => a.ip)).toEqual(['3.15.227.20', '127.0.0.1', '192.168.1.6']);
    const csv = await runOtsensor(['read', file, '--inventory-csv']);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trimEnd().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain('Zeek Modbus Test');
  });
});
