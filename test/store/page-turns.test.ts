import { describe, expect, it } from 'vitest';
import { createPageTurns } from '../../src/store/page-turns.js';

describe('createPageTurns', () => {
  it('lets two pages be read at once and the others in arrival order, each as one ends', async () => {
    const turns = createPageTurns(2);
    const started: number[] = [];
    const ends: Array<() => void> = [];
    const reads = [0, 1, 2, 3].map(async (page) => {
      const end = await turns.take();
      started.push(page);
      ends[page] = end;
    });
    await Promise.all(reads.slice(0, 2));

    expect(started).toEqual([0, 1]);
    expect(turns.waiting()).toBe(2);
    ends[1]!();
    ends[1]!();
    await reads[2];
    expect(started).toEqual([0, 1, 2]);
    expect(turns.waiting()).toBe(1);
    ends[0]!();
    await reads[3];
    expect(started).toEqual([0, 1, 2, 3]);
  });

  it('gives a turn at once once those before have ended', async () => {
    const turns = createPageTurns(1);
    (await turns.take())();
    const end = await turns.take();
    end();

    expect(turns.waiting()).toBe(0);
  });
});
