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
    for (let index = 0; index < 10_000; index += 1) window.add(`key-${index}`, index, 0);

    expect(window.size()).toBe(100);
    expect(window.get('key-9999', 1)).toBe(9999);
    expect(window.get('key-0', 1)).toBeUndefined();
  });
});
