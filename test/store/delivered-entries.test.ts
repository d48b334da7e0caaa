import { describe, expect, it } from 'vitest';
import { createDeliveredEntries } from '../../src/store/delivered-entries.js';

describe('createDeliveredEntries', () => {
  it('tells the entries published last, and forgets the oldest past its bound', () => {
    const delivered = createDeliveredEntries(2);
    delivered.add('1-0', 'a');
    delivered.add('2-0', 'b');
    expect(delivered.has('1-0', 'a')).toBe(true);
    expect(delivered.has('2-0', 'a')).toBe(false);
    delivered.add('3-0', 'c');
    expect([delivered.has('1-0', 'a'), delivered.has('2-0', 'b'), delivered.has('3-0', 'c')]).toEqual([
      false,
      true,
      true,
    ]);
  });

  // Its cost at the live reader's bound is measured by bench/hot-path.ts (a ratio, not a timed test).
  it('keeps exactly the last `max` entries however often it wraps around', () => {
    const max = 1_000;
    const delivered = createDeliveredEntries(max);
    const adds = max * 3 + 7;
    for (let n = 0; n < adds; n++) delivered.add(`1765000000000-${n}`, `alert-${n}`);
    const kept = Array.from({ length: adds }, (_, n) => delivered.has(`1765000000000-${n}`, `alert-${n}`));
    expect(kept.indexOf(true)).toBe(adds - max);
    expect(kept.slice(adds - max).every(Boolean)).toBe(true);
  });
});
