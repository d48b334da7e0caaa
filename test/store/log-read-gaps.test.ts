import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GAP_LOG_EVERY_MS, logReadGaps } from '../../src/store/log-read-gaps.js';

function gapsLogged() {
  const lines: Array<{ event: string; count: number; afterId: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  let counted = 0;
  const gaps = logReadGaps({ readGap: () => (counted += 1) }, logger);
  return { gaps, lines, counted: () => counted };
}

const ids = (afterId: string) => ({ afterId, nextId: '9-0', removedId: '8-0' });

describe('logReadGaps', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('logs the first gap at once, then a line per GAP_LOG_EVERY_MS with the count since, adding up to the metric', () => {
    const { gaps, lines, counted } = gapsLogged();
    gaps.found(ids('1-0'));
    gaps.found(ids('2-0'));
    gaps.found(ids('3-0'));
    expect(lines.map((line) => [line.event, line.count, line.afterId])).toEqual([
      ['store_read_gap', 1, '1-0'],
    ]);

    vi.advanceTimersByTime(GAP_LOG_EVERY_MS);
    gaps.found(ids('4-0'));
    // The gaps stopped: what is left is logged at the end of the quiet period, not never.
    vi.advanceTimersByTime(GAP_LOG_EVERY_MS);
    vi.advanceTimersByTime(GAP_LOG_EVERY_MS);

    expect(lines.map((line) => [line.count, line.afterId])).toEqual([
      [1, '1-0'],
      [2, '3-0'],
      [1, '4-0'],
    ]);
    expect(lines.reduce((sum, line) => sum + line.count, 0)).toBe(counted());
    gaps.found(ids('5-0'));
    expect(lines).toHaveLength(4);
  });

  it('logs what is left when the reader stops', () => {
    const { gaps, lines } = gapsLogged();
    gaps.found(ids('1-0'));
    gaps.found(ids('2-0'));
    gaps.stop();

    expect(lines.map((line) => line.count)).toEqual([1, 1]);
  });
});
