import { describe, expect, it } from 'vitest';
import { isAfter } from '../../src/alerts/store-position.js';

describe('isAfter', () => {
  it('orders positions by milliseconds, then by sequence within one millisecond', () => {
    expect(isAfter([2, 0], [1, 5])).toBe(true);
    expect(isAfter([1, 6], [1, 5])).toBe(true);
    expect(isAfter([1, 5], [1, 5])).toBe(false);
    expect(isAfter([1, 4], [1, 5])).toBe(false);
    expect(isAfter([0, 9], [1, 0])).toBe(false);
  });
});
