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

/** How often a connected receiver asks again (a `CONFIG SET` or a Redis restarted with another policy). */
export const EVICTION_CHECK_EVERY_MS = 60_000;

/**
 * Warns when Redis may evict keys. The receiver's keys must stay until it trims or expires
 * them: an `allkeys-*` policy evicts the whole alert stream or its id index (every replica then
 * answers without the alerts, or lists one it cannot find by id), a `volatile-*` one the keys with a
 * TTL (dedup keys, trigger runs and the holds that keep a running trigger run from reading as
 * orphaned). Asked each time the link comes up and every `everyMs` while it is up: asked once at
 * start, a policy changed later (`CONFIG SET`, Redis restarted with another configuration) evicted
 * the index of 2,249 of 2,347 stored alerts here (listed, yet 404 by id on every replica) with
 * nothing in any log. Warns once per policy, again after it was `noeviction` in between. A Redis that
 * refuses CONFIG (a managed one) is not checked. Resolves once checked the first time. `signal`
 * (the store closing) ends the checks: before, each store left its timer, and with it the link and
 * the logger, asking every minute for as long as the process lived.
 */
export function checkEvictionPolicy(
  conn: RedisConnection,
  logger: Logger,
  everyMs = EVICTION_CHECK_EVERY_MS,
  signal?: AbortSignal,
): Promise<void> {
  let warned: string | undefined;
  let asking = false;
  const check = async () => {
    if (asking || !conn.isUp() || signal?.aborted) return;
    asking = true;
    try {
      const policy = policyIn(await conn.send(['CONFIG', 'GET', 'maxmemory-policy']));
      if (policy === 'noeviction') warned = undefined;
      if (policy === undefined || policy === 'noeviction' || policy === warned) return;
      warned = policy;
      logger.warn(
        { event: 'store_eviction_policy', policy },
        `Redis evicts keys (maxmemory-policy ${policy}): stored alerts, their index, dedup keys and trigger runs can vanish from every replica's answers; set maxmemory-policy noeviction`,
      );
    } catch {
      // Refused (a managed Redis) or unreachable: asked again later.
    } finally {
      asking = false;
    }
  };
  if (signal?.aborted) return Promise.resolve();
  const timer = setInterval(() => void check(), everyMs).unref();
  signal?.addEventListener('abort', () => clearInterval(timer), { once: true });
  return new Promise((resolve) => {
    let first = true;
    conn.onUp(() => {
      const checked = check();
      if (first) void checked.finally(resolve);
      first = false;
    });
  });
}
