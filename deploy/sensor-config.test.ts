import { describe, expect, it } from 'vitest';
import { SensorConfigError, validateSensorConfig } from './sensor-config.ts';

const BASE = {
  sensor: 's1',
  province: 'gd',
  enterprise: 'acme',
  nats: { url: 'tls://nats.example:4222', nkeySeedFile: 'nkey.seed' },
  outbox: { dir: 'outbox', maxBytes: 268435456 },
};

describe('sensor config: limits', () => {
  it('has none unless given; a mapping becomes NAME=VALUE limits in file order', () => {
    expect(validateSensorConfig(BASE, '/etc/otsensor/a/sensor.yaml').limits).toBeUndefined();
    const c = validateSensorConfig({ ...BASE, limits: { flows: 262144, 'app-buffer': '256M' } }, '/x/sensor.yaml');
    expect(c.limits).toEqual(['flows=262144', 'app-buffer=256M']);
    // Resolved paths are unchanged by the new section.
    expect(c.outbox.dir).toBe('/x/outbox');
  });

  it('refuses a limits section that is not a mapping of names to numbers or sizes, naming the field', () => {
    for (const [limits, field] of [
      [[1, 2], 'limits'],
      ['flows=1', 'limits'],
      [{ flows: { max: 1 } }, 'limits.flows'],
      [{ flows: true }, 'limits.flows'],
    ] as const) {
      let error: unknown;
      try {
        validateSensorConfig({ ...BASE, limits }, '/x/sensor.yaml');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(SensorConfigError);
      expect((error as SensorConfigError).field).toBe(field);
      expect((error as Error).message).toContain('/x/sensor.yaml');
    }
  });
});
