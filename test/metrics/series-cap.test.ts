import { describe, expect, it } from 'vitest';
import { OVERFLOW_LABEL } from '../../src/metrics/label-cap.js';
import { SeriesCap } from '../../src/metrics/series-cap.js';

describe('SeriesCap', () => {
  it('passes label sets up to the cap less the overflow room, then overflows new ones keeping priority', () => {
    let overflows = 0;
    // 4 series, 2 of them kept for the overflow series of two priorities.
    const cap = new SeriesCap(4, { priority: 2 }, () => (overflows += 1));
    const seen = [
      cap.labels({ rule: 'a', priority: 'Notice' }),
      cap.labels({ rule: 'b', priority: 'Notice' }),
      cap.labels({ rule: 'c', priority: 'Warning' }),
      cap.labels({ rule: 'a', priority: 'Notice' }),
      cap.labels({ rule: 'd', priority: 'Notice' }),
    ];

    expect(seen).toEqual([
      { rule: 'a', priority: 'Notice' },
      { rule: 'b', priority: 'Notice' },
      { rule: OVERFLOW_LABEL, priority: 'Warning' },
      { rule: 'a', priority: 'Notice' },
      { rule: OVERFLOW_LABEL, priority: 'Notice' },
    ]);
    expect(overflows).toBe(2);
    expect(new Set(seen.map((labels) => JSON.stringify(labels))).size).toBeLessThanOrEqual(4);
  });

  it('counts a call that stands for several observations as that many overflows', () => {
    const counted: number[] = [];
    const cap = new SeriesCap(2, { priority: 1 }, (uses) => counted.push(uses));
    cap.labels({ rule: 'a', priority: 'Notice' }, 7);
    expect(cap.labels({ rule: 'b', priority: 'Notice' }, 4)).toEqual({
      rule: OVERFLOW_LABEL,
      priority: 'Notice',
    });
    expect(counted).toEqual([4]);
  });
});
