import { describe, expect, it } from 'vitest';
import { findReadGap } from '../../src/store/stream-read-gap.js';

describe('findReadGap', () => {
  const last = [100, 3] as const;

  it('finds none while nothing after where the reader was has been removed', () => {
    expect(findReadGap(last, [101, 0], undefined)).toBeUndefined();
    expect(findReadGap(last, [101, 0], [100, 3])).toBeUndefined();
    expect(findReadGap(last, undefined, [99, 9])).toBeUndefined();
  });

  it('finds one up to the newest removed entry when it lies before the first entry read', () => {
    expect(findReadGap(last, [105, 0], [104, 7])).toEqual([104, 7]);
    expect(findReadGap(last, [105, 0], [100, 4])).toEqual([100, 4]);
  });

  it('finds one up to the newest removed entry when the read returned nothing', () => {
    expect(findReadGap(last, undefined, [102, 0])).toEqual([102, 0]);
  });

  // The read's own entries were removed right after it: whether some before them went first is unknown.
  it('assumes one, up to the first entry read, when the entries read were removed too', () => {
    expect(findReadGap(last, [105, 0], [105, 0])).toEqual([105, 0]);
    expect(findReadGap(last, [105, 0], [107, 2])).toEqual([105, 0]);
  });
});
