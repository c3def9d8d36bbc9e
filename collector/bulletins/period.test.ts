/** Bulletin periods in Beijing time: bounds, previous periods, resolution of what a caller asks for. */
import { describe, expect, it } from 'vitest';
import { periodContaining, periodLabel, previousPeriod, resolvePeriod } from './period.ts';

describe('bulletin periods (UTC+08:00)', () => {
  it('a day, a week (Monday start) and a month containing an instant', () => {
    // 2024-05-08 01:30 CST is 2024-05-07 17:30 UTC (a Wednesday in Beijing).
    const at = Date.parse('2024-05-07T17:30:00Z');
    expect(periodContaining('daily', at)).toEqual({
      kind: 'daily',
      from: '2024-05-07T16:00:00.000Z',
      to: '2024-05-08T16:00:00.000Z',
    });
    expect(periodContaining('weekly', at)).toEqual({
      kind: 'weekly',
      from: '2024-05-05T16:00:00.000Z',
      to: '2024-05-12T16:00:00.000Z',
    });
    expect(periodContaining('monthly', at)).toEqual({
      kind: 'monthly',
      from: '2024-04-30T16:00:00.000Z',
      to: '2024-05-31T16:00:00.000Z',
    });
  });

  it('previous periods: calendar month, same-length custom', () => {
    expect(previousPeriod(periodContaining('monthly', Date.parse('2024-03-10T00:00:00Z')))).toEqual({
      kind: 'monthly',
      from: '2024-01-31T16:00:00.000Z',
      to: '2024-02-29T16:00:00.000Z',
    });
    expect(
      previousPeriod({ kind: 'custom', from: '2024-05-03T00:00:00.000Z', to: '2024-05-05T00:00:00.000Z' }),
    ).toEqual({ kind: 'custom', from: '2024-05-01T00:00:00.000Z', to: '2024-05-03T00:00:00.000Z' });
  });

  it('resolves the last complete period by default, a date inside otherwise, and refuses bad custom ranges', () => {
    const now = Date.parse('2024-05-08T03:00:00Z');
    expect(resolvePeriod('weekly', { now }).from).toBe('2024-04-28T16:00:00.000Z');
    expect(resolvePeriod('daily', { from: '2024-05-06', now })).toEqual(
      periodContaining('daily', Date.parse('2024-05-05T16:00:00Z')),
    );
    expect(() => resolvePeriod('custom', { from: '2024-05-06T00:00:00Z' })).toThrow(/from and to/);
    expect(() => resolvePeriod('custom', { from: '2024-05-06T00:00:00Z', to: '2024-05-01T00:00:00Z' })).toThrow(
      /before/,
    );
    expect(periodLabel(periodContaining('weekly', now))).toBe('2024-05-06 – 2024-05-12');
  });
});
