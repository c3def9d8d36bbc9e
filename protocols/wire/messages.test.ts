import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { wireSchemaDocuments } from './json-schema.ts';
import {
  MESSAGE_KINDS,
  messageId,
  parseSubject,
  sensorInboxPrefix,
  sensorSubjectPrefix,
  subjectFor,
} from './messages.ts';
import { validateMessage } from './validate.ts';

const enc = new TextEncoder();
const id = { province: 'gd', enterprise: 'e-1', sensor: 's_1' };

function health(overrides: Record<string, unknown> = {}) {
  return {
    v: 1,
    kind: 'health',
    province: 'gd',
    enterprise: 'e-1',
    sensor: 's_1',
    seq: 7,
    sentAt: '2026-11-24T00:00:00.000Z',
    items: [
      {
        ts: '2026-11-24T00:00:00.000Z',
        uptimeSec: 1,
        versions: { sensor: '0.1.0', wire: 1, events: 1, node: 'v20.20.2' },
        capture: { source: 'live', name: 'eth1', packets: 10, bytes: 1000, drops: 0, kernelDrops: 0 },
        parse: { modbus: { pdus: 5, malformed: 0, gapBytes: 0 } },
        flows: { active: 1, evicted: 0 },
        outbox: {
          depthMessages: 0,
          depthBytes: 0,
          capBytes: 1,
          dropped: {},
          droppedSinceLast: {},
          published: 1,
          acked: 1,
          retries: 0,
        },
        rules: { loaded: 108, alerts: 0 },
        clock: { offsetMs: 1.5, rttMs: 0.4 },
      },
    ],
    ...overrides,
  };
}

const bytes = (o: unknown) => enc.encode(JSON.stringify(o));

describe('subjects', () => {
  it('builds and parses ot.v1.<province>.<enterprise>.<sensor>.<kind>', () => {
    for (const kind of MESSAGE_KINDS) {
      const subject = subjectFor(id, kind);
      expect(subject).toBe(`ot.v1.gd.e-1.s_1.${kind}`);
      expect(parseSubject(subject)).toEqual({ ...id, kind });
    }
    expect(sensorSubjectPrefix(id)).toBe('ot.v1.gd.e-1.s_1');
    expect(sensorInboxPrefix(id)).toBe('_INBOX.gd.e-1.s_1');
    expect(messageId('s_1', 42)).toBe('s_1:42');
  });

  it('refuses tokens that could widen a subject (dots, wildcards, spaces, empty, too long)', () => {
    for (const bad of ['a.b', '*', '>', 'a b', '', 'x'.repeat(65), 'gd\n']) {
      expect(() => subjectFor({ ...id, sensor: bad }, 'alert'), JSON.stringify(bad)).toThrow(TypeError);
    }
    expect(parseSubject('ot.v1.gd.e1.s1.unknown')).toBeNull();
    expect(parseSubject('ot.v2.gd.e1.s1.alert')).toBeNull();
    expect(parseSubject('ot.v1.gd.e1.alert')).toBeNull();
    expect(parseSubject('ot.v1.g*.e1.s1.alert')).toBeNull();
  });
});

describe('validateMessage', () => {
  it('accepts a valid message', () => {
    const r = validateMessage('ot.v1.gd.e-1.s_1.health', bytes(health()));
    expect(r.ok).toBe(true);
  });

  it.each([
    ['bad_subject', 'ot.v1.gd.e-1.health', bytes(health())],
    ['too_large', 'ot.v1.gd.e-1.s_1.health', new Uint8Array(1_000_000)],
    ['not_json', 'ot.v1.gd.e-1.s_1.health', enc.encode('{"v":1,')],
    ['not_json', 'ot.v1.gd.e-1.s_1.health', new Uint8Array([0xc3, 0x28])],
    ['schema', 'ot.v1.gd.e-1.s_1.health', enc.encode('[1,2]')],
    ['bad_version', 'ot.v1.gd.e-1.s_1.health', bytes(health({ v: 2 }))],
    ['kind_mismatch', 'ot.v1.gd.e-1.s_1.alert', bytes(health())],
    ['schema', 'ot.v1.gd.e-1.s_1.health', bytes(health({ seq: -1 }))],
    ['schema', 'ot.v1.gd.e-1.s_1.health', bytes(health({ items: [] }))],
    ['identity_mismatch', 'ot.v1.gd.e-2.s_1.health', bytes(health())],
    ['identity_mismatch', 'ot.v1.gd.e-1.s_2.health', bytes(health())],
  ] as const)('rejects %s (%s)', (reason, subject, data) => {
    const r = validateMessage(subject, data);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });

  it('rejects an alert batch whose items name another sensor', () => {
    const alert = {
      v: 1,
      kind: 'alert',
      id: 'r@f:1',
      sensor: 'other',
      flow: 'f',
      ts: '2026-11-24T00:00:00.000000Z',
      tsNs: 0,
      client: { ip: '10.0.0.1', port: 1 },
      server: { ip: '10.0.0.2', port: 502 },
      proto: 'modbus',
      alert: {
        rule: { id: 'r', title: 't', level: 'high', status: 'stable', tags: [] },
        count: 1,
        matched: {},
      },
    };
    const msg = { ...health(), kind: 'alert', items: [alert] };
    const r = validateMessage('ot.v1.gd.e-1.s_1.alert', bytes(msg));
    expect(r.ok ? null : r.reason).toBe('identity_mismatch');
    const own = validateMessage('ot.v1.gd.e-1.s_1.alert', bytes({ ...msg, items: [{ ...alert, sensor: 's_1' }] }));
    expect(own.ok).toBe(true);
    // A repeat count beyond the stores' 32-bit column is refused here, not by a failing store write.
    for (const [count, ok] of [
      [2_147_483_647, true],
      [2_147_483_648, false],
    ] as const) {
      const item = { ...alert, sensor: 's_1', alert: { ...alert.alert, count } };
      const r = validateMessage('ot.v1.gd.e-1.s_1.alert', bytes({ ...msg, items: [item] }));
      expect(r.ok ? 'ok' : r.reason).toBe(ok ? 'ok' : 'schema');
    }
  });
});

describe('JSON Schema documents', () => {
  const docs = wireSchemaDocuments();

  it('docs/wire-schemas/ holds the current schemas (run scripts/export-wire-schemas.ts after a change)', () => {
    for (const kind of MESSAGE_KINDS) {
      const file = join(import.meta.dirname, '../../docs/wire-schemas', `${kind}.schema.json`);
      expect(readFileSync(file, 'utf8'), kind).toBe(docs[kind]);
    }
  });

  it('a standalone JSON Schema validator agrees with ours', () => {
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(JSON.parse(docs.health));
    expect(validate(health())).toBe(true);
    expect(validate(health({ seq: 0 }))).toBe(false);
    expect(validate(health({ province: 'a.b' }))).toBe(false);
  });
});
