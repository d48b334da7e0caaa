import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  logConfirmationsGivenUp,
  logReplicaLooks,
  NO_REPLICA_LOG_EVERY_MS,
} from '../../src/store/log-replica-looks.js';

function looksLogged() {
  const lines: Array<Record<string, unknown>> = [];
  const events: unknown[] = [];
  const write = (text: string) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    events.push(line.event);
  };
  return { look: logReplicaLooks(pino({ level: 'info' }, { write })), events, lines };
}

describe('logReplicaLooks', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('warns once while the master has no replica, and says when one is back', () => {
    const { look, events } = looksLogged();
    look(true);
    look(false);
    look(false);
    look(false);
    look(true);
    look(true);

    expect(events).toEqual(['store_no_replica', 'store_replica_online']);
  });

  it('warns again for a replica gone again only once NO_REPLICA_LOG_EVERY_MS has passed since the last warning', () => {
    const { look, events } = looksLogged();
    look(false);
    look(true);
    vi.advanceTimersByTime(NO_REPLICA_LOG_EVERY_MS - 1);
    look(false);
    look(true);
    vi.advanceTimersByTime(1);
    look(false);

    expect(events).toEqual([
      'store_no_replica',
      'store_replica_online',
      'store_replica_online',
      'store_no_replica',
    ]);
  });

  // Regression: the minute was timed on the wall clock: after an NTP step back of an hour on the
  // receiver's node, a master left with no replica went unlogged (held back) for that hour.
  it('warns again a minute after the last warning though the wall clock stepped back meanwhile', () => {
    const { look, events } = looksLogged();
    look(false);
    look(true);

    // The wall clock only: timers (and performance.now()) go on as they were.
    vi.setSystemTime(Date.now() - 3_600_000);
    vi.advanceTimersByTime(NO_REPLICA_LOG_EVERY_MS);
    look(false);

    expect(events).toEqual(['store_no_replica', 'store_replica_online', 'store_no_replica']);
  });

  // Regression: an outage whose store_no_replica line the minute's limit held back ended with no
  // line either, while falco_store_replica_online went from 0 back to 1.
  it('says a replica is back after an outage whose warning was held back, at most once a minute', () => {
    const { look, events, lines } = looksLogged();
    look(false);
    look(true);
    look(false);
    look(true);
    // Held back twice: the second end is not told of either.
    look(false);
    look(true);
    vi.advanceTimersByTime(NO_REPLICA_LOG_EVERY_MS);
    look(false);
    look(true);
    look(false);
    look(true);

    expect(events).toEqual([
      'store_no_replica',
      'store_replica_online',
      'store_replica_online',
      'store_no_replica',
      'store_replica_online',
      'store_replica_online',
    ]);
    expect(lines.map((line) => line.noReplicaLineHeldBack)).toEqual([
      undefined,
      undefined,
      true,
      undefined,
      undefined,
      true,
    ]);
  });

  it('warns for an outage held back once it lasts past NO_REPLICA_LOG_EVERY_MS, then says when it ends', () => {
    const { look, events, lines } = looksLogged();
    look(false);
    look(true);
    look(false);
    vi.advanceTimersByTime(NO_REPLICA_LOG_EVERY_MS);
    look(false);
    look(true);

    expect(events).toEqual([
      'store_no_replica',
      'store_replica_online',
      'store_no_replica',
      'store_replica_online',
    ]);
    expect(lines.at(-1)?.noReplicaLineHeldBack).toBeUndefined();
  });
});

describe('logConfirmationsGivenUp', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('counts every alert given up, and logs the first at once, then a line a minute with the count since', () => {
    const lines: Array<Record<string, unknown>> = [];
    let counted = 0;
    const metrics = { unconfirmedGivenUp: (count: number) => (counted += count) };
    const { gaveUp, flush } = logConfirmationsGivenUp(
      metrics,
      pino({ level: 'info' }, { write: (text: string) => lines.push(JSON.parse(text)) }),
    );

    gaveUp(2);
    gaveUp(3);
    vi.advanceTimersByTime(NO_REPLICA_LOG_EVERY_MS - 1);
    gaveUp(4);
    vi.advanceTimersByTime(1);
    gaveUp(1);
    vi.advanceTimersByTime(NO_REPLICA_LOG_EVERY_MS);
    // What comes after the last line is logged when the store closes.
    gaveUp(6);
    flush();

    expect(counted).toBe(16);
    expect(lines.map(({ event, count, level }) => ({ event, count, level }))).toEqual([
      { event: 'store_unconfirmed_given_up', count: 2, level: 40 },
      { event: 'store_unconfirmed_given_up', count: 7, level: 40 },
      { event: 'store_unconfirmed_given_up', count: 1, level: 40 },
      { event: 'store_unconfirmed_given_up', count: 6, level: 40 },
    ]);
  });
});
