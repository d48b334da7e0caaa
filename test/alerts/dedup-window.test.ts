import { describe, expect, it } from 'vitest';
import { createDedupWindow } from '../../src/alerts/dedup-window.js';

describe('createDedupWindow', () => {
  it('remembers a key until its window has passed', () => {
    const window = createDedupWindow<string>({ windowMs: 1000, maxEntries: 10 });
    window.add('a', 'first', 0);

    expect(window.get('a', 999)).toBe('first');
    expect(window.get('a', 1000)).toBeUndefined();
  });

  it('never holds more than maxEntries keys, forgetting the oldest first', () => {
    const window = createDedupWindow<number>({ windowMs: 60_000, maxEntries: 100 });
    for (let index = 0; index < 10_000; index += 1) {
      window.add(`key-${index}`, index, 0);
      expect(window.size()).toBeLessThanOrEqual(100);
    }
    // At least the newest half of the bound is always held.
    for (let index = 9950; index < 10_000; index += 1) expect(window.get(`key-${index}`, 1)).toBe(index);
    expect(window.get('key-0', 1)).toBeUndefined();
    expect(window.get('key-9899', 1)).toBeUndefined();
  });

  it('keeps every key for its whole window while keys arrive steadily, and lets expired ones go', () => {
    const window = createDedupWindow<number>({ windowMs: 1000, maxEntries: 100_000 });
    // One key every 10 ms for 5 s: each must be found until exactly 1000 ms after it was added.
    for (let t = 0; t < 5000; t += 10) {
      window.add(`key-${t}`, t, t);
      for (const back of [0, 10, 500, 990])
        if (t - back >= 0) expect(window.get(`key-${t - back}`, t)).toBe(t - back);
      if (t >= 1000) expect(window.get(`key-${t - 1000}`, t)).toBeUndefined();
    }
    // Generations turn with the window, so what is held stays near two windows' worth.
    expect(window.size()).toBeLessThanOrEqual(200);
  });
});
