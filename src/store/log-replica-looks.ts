import type { Logger } from 'pino';

/** At most one `store_no_replica` line per this many milliseconds (a replica that comes and goes). */
export const NO_REPLICA_LOG_EVERY_MS = 60_000;

/**
 * Logs what the looks at the master's replicas find (replica-confirmations.ts): `store_no_replica`
 * when it has none online, once for as long as that lasts (a look is made every second then), and
 * `store_replica_online` when one is back after that line.
 */
export function logReplicaLooks(logger: Logger): (online: boolean) => void {
  let warnedAt = -Infinity;
  // Whether the last line written said there was none.
  let warned = false;
  return (online) => {
    if (online) {
      if (warned)
        logger.info(
          { event: 'store_replica_online' },
          'the Redis master has a replica online again: writes are confirmed by a replica',
        );
      warned = false;
      return;
    }
    const now = Date.now();
    if (warned || now - warnedAt < NO_REPLICA_LOG_EVERY_MS) return;
    logger.warn(
      { event: 'store_no_replica' },
      'the Redis master has no replica online: alerts are on the master alone, not confirmed by a replica, and a failover has none to promote',
    );
    warned = true;
    warnedAt = now;
  };
}
