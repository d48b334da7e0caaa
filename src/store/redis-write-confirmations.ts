import type { Logger } from 'pino';
import { logConfirmationsGivenUp, logReplicaLooks } from './log-replica-looks.js';
import type { PendingWrite } from './pending-writes.js';
import { createReplicaConfirmations, keepUntrimmed } from './replica-confirmations.js';
import type { RedisKeys } from './redis-alert-entry.js';
import type { RedisConnection } from './redis-connection.js';
import { readStreamEdges } from './read-stream-edges.js';
import type { StoreMetrics } from './store-metrics.js';
import { StoreUnavailableError } from './store-unavailable-error.js';

// How long a round of writes waits for a replica to have them (through Sentinel), and how often
// a master with no replica online is asked again (ROLE) whether one is back, writes or none.
const REPLICA_WAIT_MS = 250;
const REPLICA_LOOK_EVERY_MS = 1_000;
// Alert ids asked about per HMGET of the id index (pipelined).
const HELD_CHUNK = 1_000;

/** The replica confirmations (replica-confirmations.ts) of the store's write link. */
export interface WriteConfirmations {
  /** After a round of writes: see ReplicaConfirmations.confirm. */
  confirm(written: readonly PendingWrite[]): Promise<boolean>;
  relinked(): void;
  /**
   * After the link came back: the unconfirmed alerts the master lacks, to queue again, oldest first
   * (once); those it holds stay kept until every replica confirms them.
   */
  takeMissing(): Promise<PendingWrite[]>;
  /** True while alerts kept from before the link came back wait for `takeMissing`. */
  owed(): boolean;
  replicaOnline(): boolean;
  close(): void;
}

/** Through Sentinel: the writes' replica confirmations, with the store's timings and log lines. */
export function createWriteConfirmations(options: {
  writer: RedisConnection;
  keys: Pick<RedisKeys, 'alerts' | 'ids' | 'linkMark'>;
  logger: Logger;
  metrics: StoreMetrics;
  pendingMax: number;
  maxBytes: number;
  retainedFromMs: () => Promise<number>;
  /** Called with the alerts every replica online confirmed, oldest first. */
  onConfirmed: (writes: PendingWrite[]) => void;
}): WriteConfirmations {
  const { writer, keys } = options;
  const givenUp = logConfirmationsGivenUp(options.metrics, options.logger);
  const replicas = createReplicaConfirmations({
    send: (args) => writer.send(args),
    max: options.pendingMax,
    maxBytes: options.maxBytes,
    waitMs: REPLICA_WAIT_MS,
    lookEveryMs: REPLICA_LOOK_EVERY_MS,
    markKey: keys.linkMark,
    onLook: logReplicaLooks(options.logger),
    onGiveUp: givenUp.gaveUp,
    onConfirmed: options.onConfirmed,
  });
  // The ids of `writes` the master's id index holds.
  async function heldIds(writes: PendingWrite[]): Promise<Set<string>> {
    const chunks: string[][] = [];
    for (let at = 0; at < writes.length; at += HELD_CHUNK)
      chunks.push(writes.slice(at, at + HELD_CHUNK).map((write) => write.id));
    const replies = await Promise.all(chunks.map((ids) => writer.send(['HMGET', keys.ids, ...ids])));
    return new Set(chunks.flatMap((ids, at) => ids.filter((_, j) => (replies[at] as unknown[])[j] != null)));
  }
  // Of the unconfirmed alerts, those the (maybe promoted) master lacks and would still hold. A link
  // that dropped and came back to the same master (a blip, a client kill) lacks none: sent again,
  // all of them (up to STORE_PENDING_MAX and STORE_MAX_BYTES) were rewritten for nothing, and took
  // the queue's room from alerts never written. Those it holds stay kept, unconfirmed as before.
  async function missing(writes: PendingWrite[]): Promise<PendingWrite[]> {
    if (writes.length === 0) return writes;
    const [edges, held] = await Promise.all([
      // Unknown (XRANGE refused too, or the link down, which `held` tells below): none taken as trimmed.
      readStreamEdges((args) => writer.send(args), keys.alerts).catch(() => ({})),
      heldIds(writes).catch((error: unknown) => error),
    ]);
    // The link dropped again: they are asked about once it is back. Refused (an ACL), or Redis busy
    // with the link kept (no relink to wait for): all go again, and the write script skips those the
    // master has.
    if (held instanceof StoreUnavailableError && !writer.isUp()) {
      replicas.keepForRelink(writes);
      return [];
    }
    const lacked = held instanceof Set ? writes.filter((write) => !held.has(write.id)) : writes;
    // Those it holds are not written again but stay kept: a replica may lack them (one lagged
    // behind the master), and a failover to it lost them from every node.
    if (held instanceof Set) replicas.keepHeld(writes.filter((write) => held.has(write.id)));
    return keepUntrimmed(lacked, edges, await options.retainedFromMs());
  }
  return {
    confirm: (written) => replicas.confirm(written),
    relinked: () => replicas.relinked(),
    takeMissing: () => missing(replicas.takeUnconfirmed()),
    owed: () => replicas.owed(),
    replicaOnline: () => replicas.replicaOnline(),
    close() {
      replicas.close();
      givenUp.flush();
    },
  };
}
