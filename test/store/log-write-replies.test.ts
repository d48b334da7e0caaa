import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logWriteReplies, SHED_LOG_EVERY_MS } from '../../src/store/log-write-replies.js';

describe('logWriteReplies', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  // Regression (review): the sheds after the last line went unlogged, at close or for good.
  it('logs the sheds in lines that add up to the metric, the last ones when the store closes', () => {
    const lines: Array<Record<string, unknown>> = [];
    const counted = { shed: 0, duplicates: 0 };
    const metrics = {
      shed: (count: number) => (counted.shed += count),
      duplicatesDropped: (count: number) => (counted.duplicates += count),
    };
    const { wrote, flush } = logWriteReplies(
      metrics,
      pino({ level: 'info' }, { write: (text: string) => lines.push(JSON.parse(text)) }),
    );

    wrote([['dup-1'], 3, []]);
    wrote([[], 2, []]);
    vi.advanceTimersByTime(SHED_LOG_EVERY_MS);
    wrote([[], 4, []]);
    flush();

    expect(counted).toEqual({ shed: 9, duplicates: 1 });
    expect(lines.map(({ event, count }) => ({ event, count }))).toEqual([
      { event: 'store_full_shed', count: 3 },
      { event: 'store_full_shed', count: 2 },
      { event: 'store_full_shed', count: 4 },
    ]);
  });
});
