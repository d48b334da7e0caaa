import type { Logger } from 'pino';
import type { RedisConnection } from './redis-connection.js';

// CONFIG GET's reply: [name, value] (RESP2) or a map of them (RESP3).
function policyIn(reply: unknown): string | undefined {
  const values =
    reply instanceof Map
      ? [...reply.values()]
      : Array.isArray(reply)
        ? reply.slice(1)
        : Object.values(reply ?? {});
  return typeof values[0] === 'string' ? values[0] : undefined;
}

/**
 * Warns once when Redis may evict keys. The receiver's keys must stay until it trims or expires
 * them: an `allkeys-*` policy evicts the whole alert stream or its id index (every replica then
 * answers without the alerts, or lists one it cannot find by id), a `volatile-*` one the keys with a
 * TTL (dedup keys, trigger runs and the holds that keep a running trigger run from reading as
 * orphaned). A Redis that refuses CONFIG (a managed one) is not checked. Resolves once checked.
 */
export function checkEvictionPolicy(conn: RedisConnection, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    let checked = false;
    conn.onUp(() => {
      if (checked) return;
      checked = true;
      void conn
        .send(['CONFIG', 'GET', 'maxmemory-policy'])
        .then(
          (reply) => {
            const policy = policyIn(reply);
            if (policy === undefined || policy === 'noeviction') return;
            logger.warn(
              { event: 'store_eviction_policy', policy },
              `Redis evicts keys (maxmemory-policy ${policy}): stored alerts, their index, dedup keys and trigger runs can vanish from every replica's answers; set maxmemory-policy noeviction`,
            );
          },
          () => undefined,
        )
        .finally(resolve);
    });
  });
}
