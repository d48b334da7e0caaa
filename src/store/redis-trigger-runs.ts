import { randomUUID } from 'node:crypto';
import { cancelledOutcome } from '../triggers/run-cancellation.js';
import { awaitsAlerts, isSettled, isUnfinished } from '../triggers/run-state.js';
import { readStoredRun, type TriggerKind, type TriggerRun } from '../triggers/trigger-run.js';
import type { SharedRuns, StoredRuns } from '../triggers/shared-runs.js';
import type { RedisConnection } from './redis-connection.js';
import {
  HELD_SCRIPT,
  LEASE_SCRIPT,
  LEFTOVERS_REMOVED_SCRIPT,
  SAVE_SCRIPT,
  SETTLE_SCRIPT,
  SLOT_SCRIPT,
  TAKE_LEFTOVERS_SCRIPT,
} from './redis-trigger-scripts.js';
import { UnreadableRunError } from './unreadable-run-error.js';

/** What a run saved as unfinished says once its slot and hold are gone. */
export const ORPHANED_RUN_ERROR = 'the replica running it stopped before the run ended';

/** The run stored as `json` under `id`'s key; rejects what is not one (UnreadableRunError). */
function parseRun(id: string, json: string): TriggerRun {
  const read = readStoredRun(json);
  if ('why' in read) throw new UnreadableRunError(id, read.why);
  return read.run;
}

// The runs stored under `ids` (null: expired). One that is not a run is skipped, and said: it made
// the whole call fail, so a list lost every other replica's runs and a sweep settled no orphan.
function parseRuns(ids: string[], found: Array<string | null>): StoredRuns {
  const read: StoredRuns = { runs: [], unreadable: [] };
  found.forEach((json, i) => {
    if (json === null) return;
    try {
      read.runs.push(parseRun(ids[i]!, json));
    } catch (error) {
      if (!(error instanceof UnreadableRunError)) throw error;
      read.unreadable.push(error);
    }
  });
  return read;
}

// As a run that failed ends: nothing verifies it, detections so far included (uncounted, not_run).
// One whose cancellation was asked for (saved with it, or `requested` for a replica that never read
// it) ends as its own replica ends a cancelled run: its error naming the cancellation.
const failOrphan = (run: TriggerRun, requested?: string): TriggerRun => {
  const cancelRequestedAt = run.cancelRequestedAt ?? requested;
  const error = run.error ?? ORPHANED_RUN_ERROR;
  return {
    ...run,
    status: 'failed',
    ...(cancelRequestedAt === undefined
      ? { error }
      : { cancelRequestedAt, error: cancelledOutcome({ ok: false, error }).error }),
    verification: {
      ...run.verification,
      expectations: run.verification.expectations.map((expectation) =>
        expectation.status === 'pending' || expectation.status === 'detected'
          ? { rule: expectation.rule, status: 'not_run' }
          : expectation,
      ),
    },
  };
};

/**
 * Trigger runs shared through Redis: each run's JSON under its own key with a TTL, an index of
 * recent runs (newest first, trimmed to `maxRuns`), an index of the unsettled ones, an index of the
 * settled orphans whose leftovers are still to remove with a lease on each one's removal, per-kind
 * slots, a hold per run and the canary lease.
 */
export function createRedisTriggerRuns(options: {
  connection: RedisConnection;
  /** Key prefix, ending in `:`. */
  prefix: string;
  maxRuns: number;
  ttlMs: number;
}): SharedRuns {
  const { connection: conn, prefix } = options;
  const owner = randomUUID();
  const runKey = (id: string) => `${prefix}run:${id}`;
  const index = `${prefix}runs`;
  const unsettled = `${prefix}open`;
  const slots = (kind: TriggerKind) => `${prefix}active:${kind}`;
  const hold = (id: string) => `${prefix}owner:${id}`;
  const cancelRequest = (id: string) => `${prefix}cancel:${id}`;
  const leftovers = `${prefix}leftovers`;
  const removal = (id: string) => `${prefix}removing:${id}`;
  // The runs of `ids`, as saved (null: expired); those expired leave the index `key` (bounded by them).
  const readIndexed = async (key: string, ids: string[]): Promise<Array<string | null>> => {
    const found = (await conn.send(['MGET', ...ids.map(runKey)])) as Array<string | null>;
    const expired = ids.filter((_, i) => found[i] === null);
    if (expired.length > 0) await conn.send(['ZREM', key, ...expired]);
    return found;
  };
  // A run saved unsettled changes only while its replica renews its slot (while it runs) or its
  // hold (taken with the slot, kept until the run is settled): with neither, the replica is gone.
  const orphansOf = async (runs: TriggerRun[]): Promise<Set<string>> => {
    if (runs.length === 0) return new Set();
    const held = (await conn.send([
      'EVAL',
      HELD_SCRIPT,
      String(runs.length * 2),
      ...runs.map((run) => slots(run.kind)),
      ...runs.map((run) => hold(run.id)),
      ...runs.map((run) => run.id),
    ])) as number[];
    return new Set(runs.filter((_, i) => held[i] !== 1).map((run) => run.id));
  };
  // The stored cancel requests of these runs, by run id (an orphan's replica may never have read its own).
  const cancelRequestsOf = async (ids: string[]): Promise<Map<string, string>> => {
    if (ids.length === 0) return new Map();
    const found = (await conn.send(['MGET', ...ids.map(cancelRequest)])) as Array<string | null>;
    return new Map(ids.flatMap((id, i) => (typeof found[i] === 'string' ? [[id, found[i]] as const] : [])));
  };
  const withOrphansFailed = async (runs: TriggerRun[]): Promise<TriggerRun[]> => {
    const orphaned = await orphansOf(runs.filter(isUnfinished));
    const requests = await cancelRequestsOf([...orphaned]);
    return runs.map((run) => (orphaned.has(run.id) ? failOrphan(run, requests.get(run.id)) : run));
  };
  return {
    retentionMs: options.ttlMs,
    async claim(kind: TriggerKind, runId, max, leaseMs) {
      return (
        (await conn.send(['EVAL', SLOT_SCRIPT, '1', slots(kind), String(max), String(leaseMs), runId])) === 1
      );
    },
    async renew(kind, runId, leaseMs) {
      const keys = [slots(kind), cancelRequest(runId)];
      const requested = await conn.send(['EVAL', SLOT_SCRIPT, '2', ...keys, '-1', String(leaseMs), runId]);
      return typeof requested === 'string' && requested !== '' ? requested : undefined;
    },
    // The first request stays (NX); GET answers it when there was one already.
    async requestCancel(runId, requestedAt) {
      const ttl = String(options.ttlMs);
      const earlier = await conn.send(['SET', cancelRequest(runId), requestedAt, 'NX', 'GET', 'PX', ttl]);
      return typeof earlier === 'string' ? earlier : requestedAt;
    },
    async release(kind, runId) {
      await conn.send(['ZREM', slots(kind), runId]);
    },
    async own(runId, leaseMs) {
      return (await conn.send(['EVAL', LEASE_SCRIPT, '1', hold(runId), owner, String(leaseMs)])) === 1;
    },
    async save(run: TriggerRun) {
      const saved = await conn.send([
        'EVAL',
        SAVE_SCRIPT,
        '4',
        hold(run.id),
        runKey(run.id),
        index,
        unsettled,
        owner,
        JSON.stringify(run),
        String(options.ttlMs),
        String(Date.parse(run.createdAt)),
        run.id,
        String(options.maxRuns),
        isSettled(run) ? '1' : '0',
      ]);
      return saved === 1;
    },
    async get(id) {
      const json = await conn.send(['GET', runKey(id)]);
      if (typeof json !== 'string') return undefined;
      return (await withOrphansFailed([parseRun(id, json)]))[0];
    },
    async list() {
      const ids = (await conn.send(['ZRANGE', index, '+inf', '-inf', 'BYSCORE', 'REV'])) as string[];
      if (ids.length === 0) return { runs: [], unreadable: [] };
      const found = (await conn.send(['MGET', ...ids.map(runKey)])) as Array<string | null>;
      const { runs, unreadable } = parseRuns(ids, found);
      return { runs: await withOrphansFailed(runs), unreadable };
    },
    async orphans() {
      const ids = (await conn.send(['ZRANGE', unsettled, '0', '-1'])) as string[];
      if (ids.length === 0) return { runs: [], unreadable: [] };
      const found = await readIndexed(unsettled, ids);
      // One that is not a run stays in the index (see SharedRuns.orphans) until its key expires.
      const { runs, unreadable } = parseRuns(ids, found);
      const open = runs.filter((run) => isUnfinished(run) || awaitsAlerts(run));
      const orphaned = await orphansOf(open);
      return { runs: open.filter((run) => orphaned.has(run.id)), unreadable };
    },
    async settleOrphan(run, leftBehind) {
      const found = await conn.send(['MGET', runKey(run.id), cancelRequest(run.id)]);
      const [saved, requested] = found as [string | null, string | null];
      if (typeof saved !== 'string') return undefined;
      const current = parseRun(run.id, saved);
      if (!isUnfinished(current)) return undefined;
      const failed = failOrphan(current, requested ?? undefined);
      const keys = [runKey(run.id), unsettled, slots(current.kind), hold(run.id), cancelRequest(run.id)];
      const args = [saved, JSON.stringify(failed), run.id, owner, String(options.ttlMs), requested ?? ''];
      const mark = leftBehind?.(failed) ? '1' : '0';
      const settled = await conn.send(['EVAL', SETTLE_SCRIPT, '6', ...keys, leftovers, ...args, mark]);
      return settled === 1 ? failed : undefined;
    },
    async leftovers() {
      const ids = (await conn.send(['ZRANGE', leftovers, '0', '-1'])) as string[];
      if (ids.length === 0) return { runs: [], unreadable: [] };
      const found = await readIndexed(leftovers, ids);
      const removing = (await conn.send(['MGET', ...ids.map(removal)])) as Array<string | null>;
      // Those a replica is removing are its own until its lease lapses.
      return parseRuns(
        ids,
        found.map((json, i) => (removing[i] === null ? json : null)),
      );
    },
    async takeLeftovers(runId, leaseMs) {
      const keys = [leftovers, removal(runId)];
      return (
        (await conn.send(['EVAL', TAKE_LEFTOVERS_SCRIPT, '2', ...keys, runId, owner, String(leaseMs)])) === 1
      );
    },
    async leftoversRemoved(run) {
      const keys = [removal(run.id), runKey(run.id), leftovers, hold(run.id)];
      const args = [owner, JSON.stringify(run), String(options.ttlMs), run.id];
      return (await conn.send(['EVAL', LEFTOVERS_REMOVED_SCRIPT, '4', ...keys, ...args])) === 1;
    },
    async leaseCanary(ms) {
      return (await conn.send(['EVAL', LEASE_SCRIPT, '1', `${prefix}canary-lease`, owner, String(ms)])) === 1;
    },
  };
}
