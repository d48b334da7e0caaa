import type { PendingWrite } from './pending-writes.js';
import { WRITE_SCRIPT, type RedisKeys } from './redis-alert-entry.js';

/** What every write script call is given besides its alerts (RedisAlertStoreOptions). */
export interface WriteSettings {
  maxAlerts: number;
  retentionMs: number;
  dedupWindowMs: number;
}

/**
 * The command of one write script call (WRITE_SCRIPT): the settings, then the batch's alerts, each
 * with the stream id it had when it was written before. Only an alert kept for a replica's
 * confirmation has one: sent again, the master it was written to lost it (a failover), and the
 * entry written now names where it was, so a client that had it there is told it may have missed
 * some of the new master's alerts (redis-alert-reads.ts).
 */
export function buildWriteBatchArgs(
  settings: WriteSettings,
  keys: RedisKeys,
  batch: readonly PendingWrite[],
): string[] {
  const header = [
    String(settings.maxAlerts),
    String(settings.retentionMs),
    String(settings.dedupWindowMs),
    keys.dedup,
    keys.alias,
  ];
  return [
    'EVAL',
    WRITE_SCRIPT,
    '3',
    keys.alerts,
    keys.ids,
    keys.fields,
    ...header,
    ...batch.flatMap((w) => [...w.args, w.streamId ?? '']),
  ];
}

/**
 * What the write script answers: the ids it dropped as duplicates, how many alerts it shed, and
 * the stream id of each alert of the batch ('' for a duplicate).
 */
export type WriteReply = [unknown[], number, string[]];

/**
 * The alerts of the batches the script answered, with where it stored them. Duplicates are left
 * out: another replica's alert was stored in their place, so there is nothing of theirs to keep.
 */
export function storedWrites(batches: PendingWrite[][], replies: WriteReply[]): PendingWrite[] {
  return replies.flatMap(([, , streamIds], at) =>
    batches[at]!.flatMap((write, j) => (streamIds[j] ? [{ ...write, streamId: streamIds[j] }] : [])),
  );
}
