import { describe, expect, it } from 'vitest';
import { LIMITS, limitsOfRun, parseLimits } from './limits.ts';
import { UsageError } from './usage-error.ts';

describe('parseLimits', () => {
  it('maps each limit to its pipeline option, with binary size suffixes; a later flag for a name wins', () => {
    expect(
      parseLimits([
        'flows=200000',
        'tcp-buffer=256M',
        'tcp-stream-buffer=512KiB',
        'app-buffer=1G',
        'modbus-open-requests=64',
        's7-open-requests=32',
        's7-pdu=16K',
        'opcua-open-requests=100',
        'opcua-chunk=2M',
        'opcua-message=64M',
        'rule-groups=50000',
        'rule-values=100',
        'rule-suppress-keys=7',
        'flows=100000',
      ]),
    ).toEqual({
      flows: { maxFlows: 100_000 },
      tcp: { maxBufferedBytesTotal: 256 * 1024 ** 2, maxBufferedBytesPerStream: 512 * 1024 },
      appBufferBytes: 1024 ** 3,
      modbus: { maxOpenTransactions: 64 },
      s7: { maxOpenRequests: 32, maxPduBytes: 16 * 1024 },
      opcua: { maxOpenRequests: 100, maxBufferedChunk: 2 * 1024 ** 2, maxMessageSize: 64 * 1024 ** 2 },
      ruleEngine: { maxGroupsPerRule: 50_000, maxValuesPerGroup: 100, maxSuppressKeysPerRule: 7 },
    });
    expect(parseLimits([])).toEqual({});
  });

  it('refuses unknown names, missing or malformed values, and values outside the range', () => {
    for (const bad of ['', 'flows', 'flows=', 'flows=-1', 'flows=1.5', 'flows=2M', 'app-buffer=1T', 'toString=1']) {
      expect(() => parseLimits([bad]), bad).toThrow(UsageError);
    }
    for (const [name, spec] of Object.entries(LIMITS)) {
      expect(() => parseLimits([`${name}=${spec.min - 1}`]), name).toThrow(/outside/);
      expect(() => parseLimits([`${name}=${spec.max + 1}`]), name).toThrow(/outside/);
      expect(() => parseLimits([`${name}=${spec.min}`]), name).not.toThrow();
    }
  });

  it('takes the config file limits first and the flags after them (a flag wins); a bad file limit names the file', () => {
    const file = { path: '/etc/otsensor/hall3/sensor.yaml', limits: ['flows=262144', 'app-buffer=256M'] };
    expect(limitsOfRun(['flows=100000'], file)).toEqual({
      flows: { maxFlows: 100_000 },
      appBufferBytes: 256 * 1024 ** 2,
    });
    expect(limitsOfRun([], file)).toEqual({ flows: { maxFlows: 262_144 }, appBufferBytes: 256 * 1024 ** 2 });
    expect(limitsOfRun(['flows=64'], null)).toEqual({ flows: { maxFlows: 64 } });
    expect(() => limitsOfRun([], { ...file, limits: ['flows=abc'] })).toThrow(
      "/etc/otsensor/hall3/sensor.yaml: limits flows: 'abc' is not a whole number",
    );
    expect(() => limitsOfRun([], { ...file, limits: ['nope=1'] })).toThrow(
      /sensor\.yaml: limits: unknown limit 'nope'/,
    );
    // A flag's error still names the flag.
    expect(() => limitsOfRun(['flows=abc'], file)).toThrow("--limit flows: 'abc' is not a whole number");
  });
});
