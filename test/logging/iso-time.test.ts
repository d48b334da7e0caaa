import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/logging/iso-time.js';

describe('isoTime', () => {
  it('is toISOString of each time, whether it repeats or changes', () => {
    const base = Date.UTC(2026, 11, 1, 13, 1, 56, 123);
    for (const ms of [base, base, base + 1, base, 0, -1, base + 86_400_000, base + 86_400_000])
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('throws for an invalid time, as toISOString does, and then answers again', () => {
    const base = Date.UTC(2026, 11, 1);
    expect(isoTime(base)).toBe('2026-12-01T00:00:00.000Z');
    expect(() => isoTime(NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
    expect(isoTime(base)).toBe('2026-12-01T00:00:00.000Z');
  });
});
