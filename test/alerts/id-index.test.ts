import { describe, expect, it } from 'vitest';
import { createIdIndex } from '../../src/alerts/id-index.js';

describe('createIdIndex', () => {
  it('finds every key set within the last `generation` sets', () => {
    const index = createIdIndex<number>(100);
    for (let i = 0; i < 1000; i++) {
      index.set(`id-${i}`, i);
      for (const back of [0, 1, 50, 99])
        if (i - back >= 0) expect(index.get(`id-${i - back}`)).toBe(i - back);
    }
  });

  it('forgets keys two generations old', () => {
    const index = createIdIndex<number>(10);
    for (let i = 0; i < 30; i++) index.set(`id-${i}`, i);
    expect(index.get('id-0')).toBeUndefined();
    expect(index.get('id-29')).toBe(29);
  });
});
