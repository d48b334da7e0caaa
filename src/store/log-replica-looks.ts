import type { Logger } from 'pino';
import { countedLines } from '../logging/counted-lines.js';
import type { StoreMetrics } from './store-metrics.js';

/**
 * At most one `store_no_replica` line per this many milliseconds (a replica that comes and goes), and
 * one `store_replica_online` line for the outages that limit left without one.
 */
export const NO_REPLICA_LOG_EVERY_MS = 60_000;

/**
 * Logs what the looks at the master's replicas find (replica-confirmations.ts): `store_no_replica`
 * when it has none online, once for as long as that lasts (a look is made every second then), and
 * `store_replica_online` when one is back: after each outage that line told of, and (at most once a
 * minute, `noReplicaLineHeldBack`) after one whose line the limit held back, which went unlogged.
 */
export function logReplicaLooks(logger: Logger): (online: boolean) => void {
  let warnedAt = -Infinity;
  let heldBackEndAt = -Infinity;
  // The outage now: none, told of by a store_no_replica line, or its line held back.
  let outage: 'none' | 'logged' | 'held back' = 'none';
  return (online) => {
    // On the monotonic clock: after a step back of the wall clock, a warning was held back for the step.
    const now = performance.now();
    if (online) {
      const heldBack = outage === 'held back';
      if (outage === 'logged' || (heldBack && now - heldBackEndAt >= NO_REPLICA_LOG_EVERY_MS)) {
        if (heldBack) heldBackEndAt = now;
        logger.info(
          { event: 'store_replica_online', ...(heldBack && { noReplicaLineHeldBack: true }) },
          'the Redis master has a replica online again: writes are confirmed by its replicas',
        );
      }
      outage = 'none';
      return;
    }
    if (outage === 'logged') return;
    if (now - warnedAt < NO_REPLICA_LOG_EVERY_MS) {
      outage = 'held back';
      return;
    }
    logger.warn(
      { event: 'store_no_replica' },
      'the Redis master has no replica online: alerts are on the master alone, not confirmed by a replica, and a failover has none to promote',
    );
    outage = 'logged';
    warnedAt = now;
  };
}

/**
 * Counts the kept alerts given up (STORE_PENDING_MAX or STORE_MAX_BYTES reached while no replica
 * confirmed them) and logs `store_unconfirmed_given_up`: the first at once, then at most a line a
 * minute with the count since the line before; `flush` logs what is not in a line yet (the store
 * closes).
 */
export function logConfirmationsGivenUp(
  metrics: Pick<StoreMetrics, 'unconfirmedGivenUp'>,
  logger: Logger,
): { gaveUp: (count: number) => void; flush: () => void } {
  const lines = countedLines<undefined>(NO_REPLICA_LOG_EVERY_MS, (count) =>
    logger.warn(
      { event: 'store_unconfirmed_given_up', count },
      'alerts not every Redis replica confirmed are no longer kept to write again after a failover (STORE_PENDING_MAX or STORE_MAX_BYTES): a failover now may lose them',
    ),
  );
  return {
    gaveUp(count) {
      metrics.unconfirmedGivenUp(count);
      lines.add(count, undefined);
    },
    flush: () => lines.flush(),
  };
}
