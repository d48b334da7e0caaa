import type { RedisConnection } from './redis-connection.js';

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
