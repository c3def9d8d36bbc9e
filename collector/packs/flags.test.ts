/** Grading flag rules on findings computed from stored-alert and asset shapes (computeFindings → gradingFlags). */
import { describe, expect, it } from 'vitest';
import type { Enterprise, StoredAlert, StoredAsset } from '../store/types.ts';
import { computeFindings, sameZone } from './findings.ts';
import { gradingFlags } from './flags.ts';

const enterprise = (grade: 1 | 2 | 3, cls: Enterprise['class'] = 'networked_industrial'): Enterprise => ({
  id: 'e1',
  name: '测试企业',
  province: 'zj',
  city: '杭州',
  industry: '化工',
  class: cls,
  grade,
  contacts: [],
  maintenanceWindows: [],
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
});

function asset(ip: string, role: string, advisories: unknown[] = []): StoredAsset {
  return {
    enterpriseId: 'e1',
    ip,
    sensorId: 's1',
    role,
    firstSeen: '2024-05-06T00:00:00.000Z',
    lastSeen: '2024-05-06T01:00:00.000Z',
    record: { ip, role, firstSeen: '', lastSeen: '', identity: {}, advisories } as StoredAsset['record'],
    updatedAt: '2024-05-06T01:00:00.000Z',
  };
}

let n = 0;
function alert(ruleId: string, client: string, server: string, level: StoredAlert['level'] = 'medium'): StoredAlert {
  n++;
  return {
    uid: `uid-${n}`,
    eventId: `${ruleId}@f:${n}`,
    enterpriseId: 'e1',
    sensorId: 's1',
    province: 'zj',
    ts: `2024-05-06T00:00:${String(n % 60).padStart(2, '0')}.000Z`,
    receivedAt: '2024-05-06T00:01:00.000Z',
    ruleId,
    ruleTitle: ruleId,
    level,
    tags: [],
    protocol: 's7comm',
    clientIp: client,
    serverIp: server,
    serverPort: 102,
    count: 1,
    drill: false,
    event: {} as StoredAlert['event'],
    resolution: null,
  };
}

const VULNERABLE = {
  advisory: 'SSA-1',
  title: 'S7-300',
  severity: 'high',
  status: 'affected',
  cve: ['CVE-1'],
  version: 'V3.2',
};

describe('grading flags', () => {
  it('zones: same /24 or /64', () => {
    expect(sameZone('10.1.2.3', '10.1.2.200')).toBe(true);
    expect(sameZone('10.1.3.3', '10.1.2.200')).toBe(false);
    expect(sameZone('fd00:1::5', 'fd00:1::9')).toBe(true);
    expect(sameZone('fd00:2::5', 'fd00:1::9')).toBe(false);
    expect(sameZone('10.1.2.3', 'fd00::1')).toBe(false);
  });

  it('grade 1, PLC written from outside its zone by many hosts with vulnerable firmware: every rule, up to grade 3', () => {
    const assets = [asset('10.0.1.10', 'plc', [VULNERABLE]), asset('10.0.1.5', 'engineering_workstation')];
    const alerts = [
      alert('ot.s7.write_var', '10.0.1.5', '10.0.1.10'),
      alert('ot.s7.write_var', '192.168.9.7', '10.0.1.10'),
      alert('ot.s7.block_download', '172.16.0.4', '10.0.1.10', 'high'),
      alert('ot.s7.szl_identification', '10.0.1.5', '10.0.1.10', 'low'),
    ];
    const findings = computeFindings(assets, alerts);
    expect(findings.plcWriters).toHaveLength(1);
    expect(findings.plcWriters[0]?.writers).toEqual(['10.0.1.5', '192.168.9.7', '172.16.0.4']);
    expect(findings.plcWriters[0]?.outsideZone).toEqual(['192.168.9.7', '172.16.0.4']);
    const flags = gradingFlags(enterprise(1), findings);
    expect(flags.map((f) => [f.rule, f.suggestedGrade])).toEqual([
      ['plc_written_from_outside_zone', 2],
      ['plc_many_writers', 2],
      ['vulnerable_controller_firmware', 2],
      ['vulnerable_controller_reachable', 3],
      ['engineering_actions', 2],
    ]);
    // Evidence names the alerts the flag rests on.
    expect(flags[0]?.evidence.map((e) => e.id)).toEqual(['uid-1', 'uid-2', 'uid-3']);
    // Grade 2 declared: only the rule suggesting grade 3 remains.
    expect(gradingFlags(enterprise(2), findings).map((f) => f.rule)).toEqual(['vulnerable_controller_reachable']);
    expect(gradingFlags(enterprise(3), findings)).toEqual([]);
  });

  it('OPC UA without security carrying writes; class mismatch when PLCs are seen at a platform enterprise', () => {
    const assets = [asset('10.0.1.20', 'opcua_server'), asset('10.0.1.10', 'plc')];
    const alerts = [
      alert('ot.opcua.username_over_none', '10.0.1.5', '10.0.1.20'),
      alert('ot.opcua.control_over_none', '10.0.1.5', '10.0.1.20', 'high'),
    ];
    const findings = computeFindings(assets, alerts);
    expect(findings.opcuaUnsecured[0]?.writes).toBe(1);
    const flags = gradingFlags(enterprise(1, 'platform'), findings);
    expect(flags.map((f) => f.rule)).toEqual(['opcua_unsecured_writes', 'class_mismatch']);
    expect(flags[1]?.suggestedClass).toBe('networked_industrial');
  });

  it('nothing observed: no flags', () => {
    expect(gradingFlags(enterprise(1), computeFindings([asset('10.0.0.1', 'hmi')], []))).toEqual([]);
  });
});
