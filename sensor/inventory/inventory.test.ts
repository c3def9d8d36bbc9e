import { describe, expect, it } from 'vitest';
import type { AssetChangeEvent, SensorEvent } from '../../protocols/wire/events.ts';
import { type Advisory, AdvisoryMatcher, loadAdvisories, validateAdvisoryFile } from './advisories.ts';
import { InventoryBuilder } from './builder.ts';
import { inventoryToCsv } from './csv.ts';
import { isLocallyAdministered, lookupMacVendor } from './oui.ts';
import { inferRoles } from './roles.ts';
import { compareVersions, inRange } from './version.ts';

describe('version ranges', () => {
  it('compares dotted versions with a V prefix and x wildcards', () => {
    expect(compareVersions('V3.2.6', '3.x.14')).toBeLessThan(0);
    expect(compareVersions('V3.3.15', '3.x.14')).toBeGreaterThan(0);
    expect(compareVersions('4.4', '4.4.0')).toBe(0);
    expect(compareVersions('V2.9.1', '2.9.2')).toBeLessThan(0);
    expect(compareVersions('banana', '1.0')).toBeNull();
    expect(inRange('7.0.1', '7.0.0', '7.0.2')).toBe(true);
    expect(inRange('6.0.7', '7.0.0', '7.0.2')).toBe(false);
    expect(inRange('banana', undefined, '1.0')).toBeNull();
  });
});

const S7_300: Advisory = {
  id: 'T-1',
  title: 't',
  vendor: 'Siemens',
  product: 'S7-300',
  match: { orderNumber: '^6ES731\\d' },
  affected: [{ below: '3.x.14' }],
  cve: ['CVE-2016-9158'],
  cnvd: [],
  references: [],
  severity: 'high',
  source: 'https://example.org/a',
  confidence: 'high',
};

describe('advisories', () => {
  it('the bundled data file validates and covers S7-300/400/1200/1500, Modbus and OPC UA products', () => {
    const all = loadAdvisories();
    expect(all.length).toBeGreaterThanOrEqual(15);
    const m = new AdvisoryMatcher(all);
    const subject = (order: string, version: string) => ({
      orderNumbers: [order],
      vendorNames: [],
      productNames: [],
      productUris: [],
      version,
    });
    for (const [order, version] of [
      ['6ES7 315-2EH14-0AB0', 'V3.2.6'],
      ['6ES7 414-3EM06-0AB0', 'V6.0.3'],
      ['6ES7 214-1AG40-0XB0', 'V4.2.3'],
      ['6ES7 516-3AN01-0AB0', 'V2.5.0'],
    ] as const) {
      expect(
        m.match(subject(order, version)).some((x) => x.status === 'affected'),
        order,
      ).toBe(true);
    }
    // A patched S7-1200 is not reported for the ranged advisories, only for the all-versions one.
    const patched = m.match(subject('6ES7 214-1AG40-0XB0', 'V4.6.1'));
    expect(patched.map((x) => x.cve[0])).toEqual(['CVE-2019-10943']);
    const ua = m.match({
      orderNumbers: [],
      vendorNames: [],
      productNames: [],
      productUris: ['http://open62541.org'],
      version: null,
    });
    expect(ua.map((x) => [x.cve[0], x.status])).toEqual([['CVE-2026-1301', 'version_unknown']]);
    const modicon = m.match({
      orderNumbers: [],
      vendorNames: ['Schneider Electric'],
      productNames: ['BMX P34 2020'],
      productUris: [],
      version: 'v2.70',
    });
    expect(modicon.map((x) => [x.cve[0], x.status])).toEqual([
      ['CVE-2021-22779', 'version_unknown'],
      ['CVE-2021-22788', 'affected'],
    ]);
  });

  it('matches order number (spaces ignored) and firmware range; unknown version is reported as such', () => {
    const m = new AdvisoryMatcher([S7_300]);
    const s = { orderNumbers: ['6ES7 315-2EH14-0AB0'], vendorNames: [], productNames: [], productUris: [] };
    expect(m.match({ ...s, version: 'V3.2.6' })[0]).toMatchObject({
      status: 'affected',
      matchedOn: { orderNumber: '6ES7315-2EH14-0AB0' },
    });
    expect(m.match({ ...s, version: 'V3.2.14' })).toEqual([]);
    expect(m.match({ ...s, version: null })[0]?.status).toBe('version_unknown');
    expect(m.match({ ...s, orderNumbers: ['6ES7 214-1AG40-0XB0'], version: 'V1.0' })).toEqual([]);
  });

  it('rejects bad records with every problem listed', () => {
    const bad = {
      ...S7_300,
      id: 'T-2',
      cve: ['CVE-19-1'],
      severity: 'huge',
      match: { orderNumber: '(' },
      affected: [{ upto: '1' }],
    };
    let message = '';
    try {
      validateAdvisoryFile({ version: 1, advisories: [S7_300, bad, S7_300] });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const problem of [
      "T-2: bad CVE id 'CVE-19-1'",
      'T-2: match.orderNumber is not a valid regular expression',
      "T-2: unknown affected key 'upto'",
      'T-2: severity must be',
      "duplicate advisory id 'T-1'",
    ])
      expect(message).toContain(problem);
    expect(validateAdvisoryFile({ version: 1, updated: 'x', advisories: [S7_300] }).advisories).toHaveLength(1);
  });
});

describe('OUI', () => {
  it('names vendors from the IEEE registry, longest prefix first; none for local or null MACs', () => {
    expect(lookupMacVendor('00:1b:1b:1a:d6:e0')).toMatch(/^Siemens/);
    expect(lookupMacVendor('00:0c:29:6e:5d:01')).toMatch(/VMware/);
    expect(lookupMacVendor('00:00:00:00:00:00')).toBeNull();
    expect(isLocallyAdministered('02:42:ac:11:00:02')).toBe(true);
    expect(lookupMacVendor('02:42:ac:11:00:02')).toBeNull();
  });
});

describe('roles', () => {
  const none = { served: [], used: [], controllerIdentity: null };
  it('download beats polling; identity scans alone are a weaker engineering hint', () => {
    const es = inferRoles({
      ...none,
      activity: new Map([
        ['s7.download', 3],
        ['s7.read', 20],
      ]),
    });
    expect(es[0]?.role).toBe('engineering_workstation');
    expect(es[0]?.confidence).toBeGreaterThan(es[1]?.confidence ?? 1);
    const scan = inferRoles({ ...none, activity: new Map([['s7.szl_identity', 2]]) });
    expect(scan[0]).toMatchObject({ role: 'engineering_workstation', confidence: 0.6 });
  });
  it('polling with writes is an HMI; many reads and no writes is also historian-like; nothing is unknown', () => {
    expect(
      inferRoles({
        ...none,
        activity: new Map([
          ['modbus.read', 10],
          ['modbus.write', 1],
        ]),
      })[0]?.role,
    ).toBe('hmi');
    const poller = inferRoles({ ...none, activity: new Map([['modbus.read', 500]]) });
    expect(poller.map((r) => r.role)).toEqual(['hmi', 'historian']);
    expect(inferRoles({ ...none, activity: new Map() })).toEqual([
      { role: 'unknown', confidence: 0, reasons: ['no protocol activity that points to a role'] },
    ]);
  });
  it('a controller that answers and identifies itself is a PLC with high confidence', () => {
    const plc = inferRoles({
      activity: new Map([['s7.answered', 4]]),
      served: [{ proto: 's7comm', port: 102 }],
      used: [],
      controllerIdentity: 'orderNumber 6ES7 315-2EH14-0AB0',
    });
    expect(plc[0]).toMatchObject({ role: 'plc', confidence: 0.95 });
  });
});

let seq = 0;
function modbusEvent(
  ts: string,
  client: [string, string],
  server: [string, string],
  extra: Record<string, unknown> = {},
): SensorEvent {
  seq++;
  return {
    v: 1,
    kind: 'modbus.transaction',
    id: `f${seq}:1`,
    sensor: 's1',
    flow: `f${seq}`,
    ts,
    tsNs: 0,
    client: { ip: client[0], port: 40000, mac: client[1] },
    server: { ip: server[0], port: 502, mac: server[1] },
    proto: 'modbus',
    modbus: { kind: 'paired', func: 3, unit: 1, request: { func: 3 }, response: { func: 3 }, ...extra },
  } as SensorEvent;
}

function deviceId(revision: string): Record<string, unknown> {
  return {
    func: 43,
    request: { func: 43 },
    response: {
      func: 43,
      meiType: 14,
      objects: [
        { id: 0, value: 'ACME' },
        { id: 2, value: revision },
      ],
    },
  };
}

describe('InventoryBuilder', () => {
  const HMI: [string, string] = ['10.0.0.5', '00:0c:29:00:00:05'];
  const PLC: [string, string] = ['10.0.0.9', '00:1b:1b:00:00:09'];

  it('emits new_asset, new_mac, identity_changed and not_seen with deterministic ids', () => {
    const changes: AssetChangeEvent[] = [];
    const inv = new InventoryBuilder({ onChange: (c) => changes.push(c), notSeenAfterSec: 600, advisories: [] });
    inv.ingest(modbusEvent('2024-01-01T00:00:00.000000Z', HMI, PLC, deviceId('1.0')));
    inv.ingest(modbusEvent('2024-01-01T00:00:10.000000Z', HMI, [PLC[0], '00:1b:1b:00:00:99']));
    inv.ingest(modbusEvent('2024-01-01T00:00:20.000000Z', HMI, PLC, deviceId('2.0')));
    inv.ingest(modbusEvent('2024-01-01T00:20:00.000000Z', HMI, ['10.0.0.10', '00:1b:1b:00:00:10']));
    inv.sweep();
    const kinds = changes.map((c) => [c.asset.change, c.asset.ip]);
    expect(kinds).toEqual([
      ['new_asset', '10.0.0.5'],
      ['new_asset', '10.0.0.9'],
      ['new_mac', '10.0.0.9'],
      ['identity_changed', '10.0.0.9'],
      ['new_asset', '10.0.0.10'],
      ['not_seen', '10.0.0.9'],
    ]);
    expect(changes[0]?.id).toBe(`${changes[0]?.flow}:1:asset:1`);
    expect(changes[3]?.asset).toMatchObject({ field: 'revision', previous: '1.0', current: '2.0' });
    expect(changes[5]?.id).toBe('asset:10.0.0.9:not_seen:2024-01-01T00:20:00.000000Z');
    const snap = inv.snapshot();
    const plc = snap.assets.find((a) => a.ip === '10.0.0.9');
    expect(plc?.identity.revision).toMatchObject({ value: '2.0', previous: { value: '1.0' }, unit: 1 });
    expect(plc?.peers['10.0.0.5']?.modbus).toBe(3);
    // The client read the device identification: an identity scan, a weak engineering hint.
    expect(snap.assets.find((a) => a.ip === '10.0.0.5')?.roles[0]).toMatchObject({
      role: 'engineering_workstation',
      confidence: 0.6,
    });
  });

  it('does not attribute a MAC shared by several IPs (a router) to any of them', () => {
    const inv = new InventoryBuilder({ advisories: [] });
    const router = '00:11:22:33:44:55';
    inv.ingest(modbusEvent('2024-01-01T00:00:00.000000Z', HMI, ['10.1.0.1', router]));
    inv.ingest(modbusEvent('2024-01-01T00:00:01.000000Z', HMI, ['10.2.0.1', router]));
    const snap = inv.snapshot();
    expect(snap.assets.find((a) => a.ip === '10.1.0.1')?.mac).toBeNull();
    expect(snap.assets.find((a) => a.ip === '10.2.0.1')?.mac).toBeNull();
    expect(snap.assets.find((a) => a.ip === '10.0.0.5')?.mac).toBe(HMI[1]);
    expect(snap.gatewayMacs).toEqual([{ mac: router, vendor: lookupMacVendor(router), ips: ['10.1.0.1', '10.2.0.1'] }]);
  });

  it('caps assets and peers and counts what it drops', () => {
    const inv = new InventoryBuilder({ maxAssets: 3, maxPeersPerAsset: 1, advisories: [] });
    inv.ingest(modbusEvent('2024-01-01T00:00:00.000000Z', HMI, PLC));
    inv.ingest(modbusEvent('2024-01-01T00:00:01.000000Z', HMI, ['10.0.0.11', '00:1b:1b:00:00:11']));
    inv.ingest(modbusEvent('2024-01-01T00:00:02.000000Z', HMI, ['10.0.0.12', '00:1b:1b:00:00:12']));
    const snap = inv.snapshot();
    expect(snap.assets.map((a) => a.ip)).toEqual(['10.0.0.5', '10.0.0.9', '10.0.0.11']);
    expect(snap.stats.assetsDropped).toBe(1);
    expect(snap.stats.peersDropped).toBe(1);
  });

  it('CSV has one row per asset with identity columns and quoted evidence', () => {
    const inv = new InventoryBuilder({ advisories: [] });
    inv.ingest(modbusEvent('2024-01-01T00:00:00.000000Z', HMI, PLC, deviceId('1.0, beta')));
    const csv = inventoryToCsv(inv.snapshot()).trimEnd().split('\r\n');
    expect(csv).toHaveLength(3);
    const header = csv[0]?.split(',') ?? [];
    expect(header.slice(0, 3)).toEqual(['ip', 'mac', 'mac_vendor']);
    expect(csv[2]).toContain('"1.0, beta"');
    expect(csv[2]).toMatch(/^10\.0\.0\.9,00:1b:1b:00:00:09,"Siemens/);
  });
});
