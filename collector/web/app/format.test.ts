import { describe, expect, it } from 'vitest';
import { formatNumber, formatTime, isoToZonedInput, zonedInputToIso, zoneLabel, zoneOffsetMs } from './format.ts';
import { setState } from './store.ts';

describe('dashboard formatting', () => {
  it('shows times in Asia/Shanghai by default, in the chosen language', () => {
    setState({ lang: 'zh-CN', timeZone: 'Asia/Shanghai' });
    expect(formatTime('2024-05-06T08:00:00Z')).toBe('2024/05/06 16:00:00');
    setState({ lang: 'en', timeZone: 'UTC' });
    expect(formatTime('2024-05-06T08:00:00Z')).toBe('05/06/2024, 08:00:00');
    setState({ lang: 'zh-CN', timeZone: 'Asia/Shanghai' });
  });

  it('localises numbers', () => {
    setState({ lang: 'en' });
    expect(formatNumber(1234567)).toBe('1,234,567');
    setState({ lang: 'zh-CN' });
    expect(formatNumber(1234567)).toBe('1,234,567');
    expect(formatNumber(null)).toBe('—');
  });

  it('reads a date-time input in the chosen zone and writes it back', () => {
    expect(zoneOffsetMs('Asia/Shanghai', Date.parse('2024-01-01T00:00:00Z'))).toBe(8 * 3600_000);
    expect(zoneLabel('Asia/Shanghai')).toBe('UTC+8');
    expect(zonedInputToIso('2024-05-06T16:00', 'Asia/Shanghai')).toBe('2024-05-06T08:00:00.000Z');
    expect(zonedInputToIso('2024-05-06T16:00', 'UTC')).toBe('2024-05-06T16:00:00.000Z');
    // A zone with daylight saving time: summer and winter offsets differ.
    expect(zonedInputToIso('2024-07-01T12:00', 'Europe/Berlin')).toBe('2024-07-01T10:00:00.000Z');
    expect(zonedInputToIso('2024-01-01T12:00', 'Europe/Berlin')).toBe('2024-01-01T11:00:00.000Z');
    expect(isoToZonedInput('2024-05-06T08:00:00.000Z', 'Asia/Shanghai')).toBe('2024-05-06T16:00');
    expect(zonedInputToIso('', 'UTC')).toBe('');
  });
});
