import type { RedisConnection } from './redis-connection.js';
import { StoreUnavailableError } from './store-unavailable-error.js';

/** Redis's clock in ms (its `TIME`): the clock that stamps stream ids, not this node's. */
export async function readRedisNowMs(conn: RedisConnection, deadlineMs?: number): Promise<number> {
  const [seconds, micros] = (await conn.send(['TIME'], deadlineMs)) as [string, string];
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * The stream id of the moment `startedAt` (a `performance.now()` reading) in Redis's clock:
 * Redis's `TIME` less the time since then, as this process measures it. Not this process's own
 * clock: the two nodes' clocks may be minutes apart.
 */
export async function streamIdSince(
  conn: RedisConnection,
  startedAt: number,
  deadlineMs: number,
): Promise<string> {
  const redisMs = await readRedisNowMs(conn, deadlineMs);
  // Measured once the reply is in: the id may be a little early (an alert read twice), never late.
  const sinceMs = Math.ceil(performance.now() - startedAt);
  return `${Math.max(0, redisMs - sinceMs)}-0`;
}

/** Redis's clock, for reads that compare stream ids with a time (STORE_RETENTION's edge). */
export interface RedisClock {
  /** Redis's clock now, in ms; this process's own until Redis has answered a `TIME`. */
  nowMs(): Promise<number>;
}

// How old the offset between Redis's clock and this process's may be before it is asked again.
const ASK_EVERY_MS = 10_000;

/**
 * Redis's clock from a `TIME` at most every 10 s and this process's monotonic clock since: a TIME
 * per read would double the round trips of `GET /alerts/{id}`. Concurrent reads share one ask. One
 * unanswered (down, hung, loading) keeps the last offset (or this process's clock: the read fails
 * anyway) and is asked again by the next read; one refused (an ACL) only 10 s later. Asked again
 * once the link is back: a failover's promoted node may keep another clock.
 */
export function createRedisClock(conn: RedisConnection, deadlineMs?: number): RedisClock {
  // Redis's clock less performance.now(), as last asked.
  let redisAheadMs: number | undefined;
  let askedAt = -Infinity;
  let asking: Promise<void> | undefined;
  async function ask(): Promise<void> {
    askedAt = performance.now();
    try {
      redisAheadMs = (await readRedisNowMs(conn, deadlineMs)) - performance.now();
    } catch (error) {
      // Before, 10 s of reads after Redis was back kept alerts from this process's clock.
      if (error instanceof StoreUnavailableError) askedAt = -Infinity;
    }
  }
  conn.onUp(() => (askedAt = -Infinity));
  return {
    async nowMs() {
      if (!asking && performance.now() - askedAt >= ASK_EVERY_MS)
        asking = ask().finally(() => (asking = undefined));
      if (asking) await asking;
      return redisAheadMs === undefined ? Date.now() : Math.floor(performance.now() + redisAheadMs);
    },
  };
}
