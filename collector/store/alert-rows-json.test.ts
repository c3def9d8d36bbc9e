import { describe, expect, it } from 'vitest';
import { alertRowsJson } from './alert-rows-json.ts';
import type { AlertsTable } from './schema.ts';

function row(n: number, event: string): AlertsTable {
  return {
    uid: `u${n}`,
    event_id: `r@f:${n}`,
    enterprise_id: 'e1',
    sensor_id: 's1',
    province: 'gd',
    ts_ms: 1_790_000_000_000 + n,
    received_ms: 1_790_000_000_500,
    rule_id: 'r',
    rule_title: 'Title with "quotes" and 中文',
    level: 'high',
    tags: '["attack.t0858"]',
    protocol: 'modbus',
    client_ip: '10.0.0.1',
    server_ip: '10.0.0.2',
    server_port: 502,
    count: 1,
    drill: 0,
    event,
  };
}

describe('alertRowsJson', () => {
  it('embeds each event text verbatim as a JSON value and serialises every other field as JSON.stringify does', () => {
    // The sensor's bytes as sent: odd spacing, escapes and non-ASCII must survive untouched.
    const sent = ['{ "id" : "r@f:1", "a":"x\\"y \\u00e9 中",  "n":[1,2.50,{"k":null}]}', '{"id":"r@f:2"}'];
    const rows = [row(1, sent[0] as string), row(2, sent[1] as string)];
    const text = alertRowsJson(rows);
    for (const s of sent) expect(text).toContain(`"event":${s}}`);
    const parsed = JSON.parse(text) as Record<string, unknown>[];
    expect(parsed).toHaveLength(2);
    parsed.forEach((p, i) => {
      const r = rows[i] as AlertsTable;
      expect({ ...p, event: r.event }).toEqual(r);
      expect(p.event).toEqual(JSON.parse(r.event));
    });
  });

  it('sends an empty event as the empty string, and an empty list as []', () => {
    expect(JSON.parse(alertRowsJson([row(3, '')]))).toEqual([row(3, '')]);
    expect(alertRowsJson([])).toBe('[]');
  });
});
