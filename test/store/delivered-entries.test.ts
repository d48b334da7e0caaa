import { describe, expect, it } from 'vitest';
import { createDeliveredEntries } from '../../src/store/delivered-entries.js';

// The shortest of a few runs of `adds` entries added to a record of at most `max`, in ms.
function addingMs(max: number, adds: number): number {
  let shortest = Infinity;
  for (let run = 0; run < 5; run++) {
    const delivered = createDeliveredEntries(max);
    const started = performance.now();
    for (let n = 0; n < adds; n++) delivered.add(`1765000000000-${n}`, `alert-${n}`);
    shortest = Math.min(shortest, performance.now() - started);
  }
  return shortest;
}

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

  // Regression: the oldest entry was found as a Map's first key, and V8 walks over the slots of the
  // keys deleted before it to find it: at the live reader's bound (10,000) each published alert
  // cost about 5 us, 30 times as much as at a bound of 16 (2 to 5 times now: the larger record's
  // misses of the CPU caches), on the path of every alert of the stream.
  it("costs a published alert at the live reader's bound not many times what it costs at a small one", () => {
    const small = addingMs(16, 200_000);
    const large = addingMs(10_000, 200_000);
    expect(large / small).toBeLessThan(10);
  });
});
