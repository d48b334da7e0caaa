import type { Logger } from 'pino';
import { logReplicaLooks } from './log-replica-looks.js';
import type { PendingWrite } from './pending-writes.js';
import { createReplicaConfirmations, keepUntrimmed } from './replica-confirmations.js';
import type { RedisKeys } from './redis-alert-entry.js';
import type { RedisConnection } from './redis-connection.js';

// How long a round of writes waits for a replica to have them (through Sentinel), and how often
// a master with no replica online is asked again (ROLE) whether one is back.
const REPLICA_WAIT_MS = 250;
const REPLICA_LOOK_EVERY_MS = 1_000;

/** The replica confirmations (replica-confirmations.ts) of the store's write link. */
export interface WriteConfirmations {
  /** After a round of writes: see ReplicaConfirmations.confirm. */
  confirm(written: readonly PendingWrite[]): Promise<boolean>;
  relinked(): void;
  /** After the link came back: the unconfirmed alerts to queue again, oldest first (once). */
  takeUntrimmed(): Promise<PendingWrite[]>;
  replicaOnline(): boolean;
}

/** Through Sentinel: the writes' replica confirmations, with the store's timings and log lines. */
export function createWriteConfirmations(options: {
  writer: RedisConnection;
  keys: Pick<RedisKeys, 'alerts'>;
  logger: Logger;
  pendingMax: number;
  maxBytes: number;
  retainedFromMs: () => number;
}): WriteConfirmations {
  const { writer, keys } = options;
  const replicas = createReplicaConfirmations({
    send: (args) => writer.send(args),
    max: options.pendingMax,
    maxBytes: options.maxBytes,
    waitMs: REPLICA_WAIT_MS,
    lookEveryMs: REPLICA_LOOK_EVERY_MS,
    onLook: logReplicaLooks(options.logger),
  });
  // Of the unconfirmed alerts, those the (maybe promoted) master would still hold; all if unread.
  async function untrimmed(writes: PendingWrite[]): Promise<PendingWrite[]> {
    if (writes.length === 0) return writes;
    const oldest = await writer.send(['XRANGE', keys.alerts, '-', '+', 'COUNT', '1']).catch(() => []);
    return keepUntrimmed(writes, (oldest as Array<[string, unknown]>)[0]?.[0], options.retainedFromMs());
  }
  return {
    confirm: (written) => replicas.confirm(written),
    relinked: () => replicas.relinked(),
    takeUntrimmed: () => untrimmed(replicas.takeUnconfirmed()),
    replicaOnline: () => replicas.replicaOnline(),
  };
}
