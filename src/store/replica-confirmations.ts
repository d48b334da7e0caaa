import { isAfter } from '../alerts/store-position.js';
import { createPendingWrites, type PendingWrite } from './pending-writes.js';
import { streamPosition } from './redis-alert-entry.js';

/**
 * Alerts the master took that no replica is known to hold yet. Redis replicates asynchronously:
 * a Sentinel failover promotes a replica without the master's last writes, and alerts the
 * receiver had taken off its queue were gone from every replica's answers. Each round of writes
 * ends with `WAIT 1`: once a replica has them they are done; until then they are kept, and queued
 * again once the link comes back (maybe to the promoted replica, where the write script adds those
 * it lacks and skips the others).
 */
export interface ReplicaConfirmations {
  /**
   * After a round of writes on the link: waits briefly for a replica to hold them (and all before).
   * False when no replica answered in time (the round was held the whole wait).
   */
  confirm(written: readonly PendingWrite[]): Promise<boolean>;
  /** The link dropped and came back. */
  relinked(): void;
  /** After the link came back: the alerts to queue again, oldest first (once). */
  takeUnconfirmed(): PendingWrite[];
}

export function createReplicaConfirmations(options: {
  send: (args: string[]) => Promise<unknown>;
  /** Most alerts kept unconfirmed (STORE_PENDING_MAX): past it the oldest are given up. */
  max: number;
  /** Most bytes kept unconfirmed (STORE_MAX_BYTES), as for the queue: past it the oldest are given up. */
  maxBytes: number;
  /** How long one round waits for a replica before it goes on (the alerts stay kept). */
  waitMs: number;
}): ReplicaConfirmations {
  const unconfirmed = createPendingWrites(options.max, options.maxBytes);
  const takeAll = () => unconfirmed.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  let relinked = false;
  return {
    async confirm(written) {
      // Nothing written this round (its first batch failed): nothing to wait for.
      if (written.length === 0) return true;
      for (const write of written) unconfirmed.push(write);
      // A reply of 0 (no replica in time) or none (the link dropped) keeps them.
      const replicas = await options.send(['WAIT', '1', String(options.waitMs)]).catch(() => 0);
      const confirmed = Number(replicas) >= 1;
      // WAIT counts the writes of this link only: those made before it came back stay kept.
      if (confirmed && !relinked) takeAll();
      return confirmed;
    },
    relinked() {
      relinked = true;
    },
    takeUnconfirmed() {
      if (!relinked) return [];
      relinked = false;
      return takeAll();
    },
  };
}

/**
 * Of the alerts to write again after a relink, those the stream would still hold: written no
 * earlier than its oldest entry (`oldest`, undefined for an empty stream) and inside STORE_RETENTION.
 * The others were trimmed, not lost: written again they came back as the newest alerts, and pushed
 * out (STORE_MAX_ALERTS) the ones received after them.
 */
export function keepUntrimmed(
  writes: PendingWrite[],
  oldest: string | undefined,
  retainedFromMs: number,
): PendingWrite[] {
  const first = oldest === undefined ? undefined : streamPosition(oldest);
  return writes.filter((write) => {
    if (write.streamId === undefined) return true;
    const at = streamPosition(write.streamId);
    return at[0] >= retainedFromMs && (first === undefined || !isAfter(first, at));
  });
}
