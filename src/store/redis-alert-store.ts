import type { Logger } from 'pino';
import type { AlertQuery, AlertStore, SummaryEntry } from '../alerts/alert-store.js';
import { buildDedupKey } from '../alerts/dedup-sink.js';
import { viewHeldAlert } from '../alerts/held-alert.js';
import { matchesQuery } from '../alerts/match-alert.js';
import { isAfter } from '../alerts/store-position.js';
import { createAnswerWaits } from './answer-waits.js';
import { logReplicaLooks } from './log-replica-looks.js';
import { createPendingWrites, type PendingWrite } from './pending-writes.js';
import { createReplicaConfirmations, keepUntrimmed } from './replica-confirmations.js';
import {
  decodeAlertEntry,
  encodeAlertArgs,
  streamPosition,
  WRITE_SCRIPT,
  type RedisKeys,
} from './redis-alert-entry.js';
import type { RedisConnection } from './redis-connection.js';
import { createStreamScanner } from './redis-alert-scan.js';
import type { StoreMetrics, StoreOp } from './store-metrics.js';

export interface RedisAlertStoreOptions {
  connection: RedisConnection;
  keys: RedisKeys;
  metrics: StoreMetrics;
  logger: Logger;
  maxAlerts: number;
  retentionMs: number;
  pendingMax: number;
  /**
   * STORE_MAX_BYTES: the most received bytes one read keeps (a list, a replay) and the pending
   * queue holds, as the memory store holds at most that much.
   */
  maxBytes: number;
  /** DEDUP_WINDOW_MS: > 0 drops an alert another replica stored inside the window. */
  dedupWindowMs: number;
  /** Through Sentinel: alerts are kept until a replica holds them, and written again after a failover. */
  confirmReplicated?: boolean;
  /**
   * The link writes go through, when not `connection`: with `confirmReplicated` each round of writes
   * ends with a WAIT that holds its link up to 250 ms, which reads must not queue behind.
   */
  writeConnection?: RedisConnection;
}

// One script call writes at most this many alerts / about this many bytes; a turn sends up to
// PIPELINE calls at once on the one connection (pipelined, one round trip).
const BATCH = 256;
const BATCH_BYTES = 4 * 1024 * 1024;
const PIPELINE = 8;
const RETRY_MS = 1_000;
// How long a round of writes waits for a replica to have them (through Sentinel), and how often
// a master with no replica online is asked again (ROLE) whether one is back.
const REPLICA_WAIT_MS = 250;
const REPLICA_LOOK_EVERY_MS = 1_000;
/** At most one `store_full_shed` line per this many milliseconds (the first shed at once). */
export const SHED_LOG_EVERY_MS = 10_000;
// How long an ingest answer waits for its alert's write before the store counts as lagging (then
// answers go at once, as while Redis is down): a hung Redis holds answers this long, once.
const ANSWER_WAIT_MS = 500;

/** The store a `RedisAlertStore` is, plus what the owner needs to wait for and stop it. */
export type RedisAlertStore = AlertStore & {
  pending(): number;
  /** The ids of the alerts not known to be written (queued, or sent with no reply yet), oldest first. */
  unwritten(): string[];
  /** Through Sentinel: false while the master has no replica online (writes confirmed by none). */
  replicaOnline(): boolean;
  close(): void;
};

/**
 * Alerts in one Redis Stream shared by every replica. `add` never waits: the alert joins a bounded
 * queue that is written once per event-loop turn, in order, as pipelined script calls, and stays
 * queued (retried) while Redis is down or hung. `written` lets ingest answer once Redis has them.
 */
const summaryFields = ({ receivedAtMs, priority, rule }: SummaryEntry): SummaryEntry => ({
  receivedAtMs,
  priority,
  rule,
});

// The stream entry of an alert id, or of the stored alert it is an alias of (a re-send another
// replica accepted and the dedup window dropped). KEYS: ids. ARGV: id, aliasPrefix.
const STREAM_ID_SCRIPT = `
local sid = redis.call('HGET', KEYS[1], ARGV[1])
if sid then return sid end
local original = redis.call('GET', ARGV[2] .. ARGV[1])
if original then return redis.call('HGET', KEYS[1], original) end
return false
`;

// What the write script answers: the ids it dropped as duplicates, how many alerts it shed, and
// the stream id of each alert of the batch ('' for a duplicate).
type WriteReply = [unknown[], number, string[]];

// The alerts of the batches the script answered, with where it stored them. Duplicates are left
// out: another replica's alert was stored in their place, so there is nothing of theirs to keep.
function storedWrites(batches: PendingWrite[][], replies: WriteReply[]): PendingWrite[] {
  return replies.flatMap(([, , streamIds], at) =>
    batches[at]!.flatMap((write, j) => (streamIds[j] ? [{ ...write, streamId: streamIds[j] }] : [])),
  );
}

// A stream id starts with Redis's clock in ms when the alert was written.
const receivedMsOf = (streamId: string) => Number(streamId.slice(0, streamId.indexOf('-')));

export function createRedisAlertStore(options: RedisAlertStoreOptions): RedisAlertStore {
  const { connection: conn, keys, metrics, logger } = options;
  const writer = options.writeConnection ?? conn;
  // Writes trim what is older than STORE_RETENTION; reads skip it too, so an alert leaves every
  // answer on time even when no alert has been written since.
  const retainedFromMs = () => Math.max(0, Date.now() - options.retentionMs);
  const queue = createPendingWrites(options.pendingMax, options.maxBytes);
  const replicas = options.confirmReplicated
    ? createReplicaConfirmations({
        send: (args) => writer.send(args),
        max: options.pendingMax,
        maxBytes: options.maxBytes,
        waitMs: REPLICA_WAIT_MS,
        lookEveryMs: REPLICA_LOOK_EVERY_MS,
        onLook: logReplicaLooks(logger),
      })
    : undefined;
  const answers = createAnswerWaits({ maxWaitMs: ANSWER_WAIT_MS });
  const drained: Array<() => void> = [];
  // The alerts of the batches sent and not answered yet.
  let sending: PendingWrite[] = [];
  let scheduled = false;
  let flushing = false;
  let closed = false;
  // Drops not yet in a log line, and whether this outage's first drop was logged.
  let droppedSinceLog = 0;
  let outageLogged = false;

  function dropped(count: number, id: string): void {
    if (count === 0) return;
    metrics.pendingDropped(count);
    // The first drop of an outage is logged, then one line per 1000 (the metric counts each).
    if (!outageLogged || droppedSinceLog + count >= 1000) {
      logger.warn(
        { event: 'store_pending_dropped', count: droppedSinceLog + count, oldestAlertId: id },
        'STORE_PENDING_MAX reached: dropped the oldest queued alerts (they were logged when accepted)',
      );
      droppedSinceLog = 0;
      outageLogged = true;
    } else droppedSinceLog += count;
  }

  // Sheds not yet in a log line, and when the last line was written.
  let shedSinceLog = 0;
  let shedLoggedAt = -Infinity;

  // What a write script did besides writing: duplicates it dropped, stored alerts it shed for room.
  function wrote([duplicates, shed]: WriteReply): void {
    metrics.duplicatesDropped(duplicates.length);
    if (shed === 0) return;
    metrics.shed(shed);
    // Far over maxmemory every write sheds: the first is logged, then a line per SHED_LOG_EVERY_MS
    // with the count since the last (the metric counts each), not hundreds of lines a second.
    shedSinceLog += shed;
    const now = Date.now();
    if (now - shedLoggedAt < SHED_LOG_EVERY_MS) return;
    logger.warn(
      { event: 'store_full_shed', count: shedSinceLog },
      'Redis is at maxmemory: dropped the oldest stored alerts to make room for new ones',
    );
    shedSinceLog = 0;
    shedLoggedAt = now;
  }

  function schedule(delayMs = 0): void {
    if (scheduled || closed) return;
    scheduled = true;
    const run = () => {
      scheduled = false;
      void flush();
    };
    if (delayMs === 0) setImmediate(run);
    else setTimeout(run, delayMs).unref();
  }

  function writeBatch(batch: ReturnType<typeof queue.take>): Promise<unknown> {
    const header = [
      String(options.maxAlerts),
      String(options.retentionMs),
      String(options.dedupWindowMs),
      keys.dedup,
      keys.alias,
    ];
    const args = [
      'EVAL',
      WRITE_SCRIPT,
      '3',
      keys.alerts,
      keys.ids,
      keys.fields,
      ...header,
      ...batch.flatMap((w) => w.args),
    ];
    return metrics.time('write', () => writer.send(args));
  }

  async function flush(): Promise<void> {
    if (flushing || !writer.isUp()) return;
    flushing = true;
    // Back after a drop, maybe on a promoted replica: what no replica was known to hold goes first.
    const again = replicas ? await untrimmed(replicas.takeUnconfirmed()) : [];
    if (again.length > 0) dropped(queue.giveBack(again), again[0]!.id);
    let retryLater = false;
    while (queue.size() > 0 && writer.isUp() && !retryLater) {
      const batches = [];
      for (let i = 0; i < PIPELINE && queue.size() > 0; i++) batches.push(queue.take(BATCH, BATCH_BYTES));
      const round = batches.flat();
      sending = round;
      const results = await Promise.allSettled(batches.map(writeBatch));
      sending = [];
      const failedAt = results.findIndex((result) => result.status === 'rejected');
      const through = failedAt < 0 ? undefined : failedAt;
      const replies = results
        .slice(0, through)
        .map((result) => (result as PromiseFulfilledResult<WriteReply>).value);
      for (const reply of replies) wrote(reply);
      // Taken oldest first: every alert numbered up to the round's newest is written or was dropped.
      if (failedAt < 0) answers.written(round.reduce((newest, write) => Math.max(newest, write.seq ?? 0), 0));
      // Through Sentinel the next round waits for this one's WAIT: while an online replica does not
      // answer it in time, answers waiting on writes would take its 250 ms each, so they go at once
      // instead. With no replica online there is no WAIT, and answers wait for the write as usual.
      const confirmed = replicas ? await replicas.confirm(storedWrites(batches, replies)) : true;
      if (failedAt < 0 && confirmed) answers.healthy();
      else answers.giveUp();
      if (failedAt >= 0) {
        metrics.writeFailed();
        const reason = (results[failedAt] as PromiseRejectedResult).reason;
        logger.warn(
          { event: 'store_write_failed', err: reason },
          'shared store write failed; alerts stay queued',
        );
        // Ids already written are skipped by the script, so a whole retry never duplicates.
        const back = batches.slice(failedAt).flat();
        dropped(queue.giveBack(back), back[0]?.id ?? '');
        retryLater = true;
      }
    }
    flushing = false;
    if (queue.size() === 0) {
      // Written up: the next drop starts a new outage.
      outageLogged = false;
      for (const resolve of drained.splice(0)) resolve();
    } else if (retryLater && writer.isUp()) schedule(RETRY_MS);
  }
  // Of the unconfirmed alerts, those the (maybe promoted) master would still hold; all if unread.
  async function untrimmed(writes: PendingWrite[]): Promise<PendingWrite[]> {
    if (writes.length === 0) return writes;
    const oldest = await writer.send(['XRANGE', keys.alerts, '-', '+', 'COUNT', '1']).catch(() => []);
    return keepUntrimmed(writes, (oldest as Array<[string, unknown]>)[0]?.[0], retainedFromMs());
  }
  writer.onUp(() => {
    replicas?.relinked();
    schedule();
  });

  function sendAll(commands: string[][], op: StoreOp): Promise<unknown[]> {
    return metrics.time(op, () => Promise.all(commands.map((args) => conn.send(args))));
  }
  const scanBack = createStreamScanner({ keys, send: sendAll, maxEntries: options.maxAlerts });

  async function streamIdOf(id: string, op: StoreOp): Promise<string | undefined> {
    const streamId = await metrics.time(op, () =>
      conn.send(['EVAL', STREAM_ID_SCRIPT, '1', keys.ids, id, keys.alias]),
    );
    return typeof streamId === 'string' ? streamId : undefined;
  }

  return {
    add(entry) {
      const dedupKey = options.dedupWindowMs > 0 ? buildDedupKey(entry.alert) : '';
      const args = encodeAlertArgs(entry, dedupKey);
      const lost = queue.push({ id: entry.id, args, bytes: entry.bytes, seq: answers.next() });
      if (lost.length > 0) dropped(lost.length, lost[0]!.id);
      schedule();
    },
    async get(id) {
      const streamId = await streamIdOf(id, 'get');
      if (!streamId || receivedMsOf(streamId) < retainedFromMs()) return undefined;
      const [[raw]] = (await sendAll([['XRANGE', keys.alerts, streamId, streamId]], 'get')) as [unknown[]];
      return raw === undefined ? undefined : viewHeldAlert(decodeAlertEntry(raw).held);
    },
    query(query: AlertQuery) {
      // Filters and sizes first: the texts of the alerts that do not match are never read.
      return scanBack({
        op: 'query',
        end: '+',
        start: String(retainedFromMs()),
        keep: (held) => matchesQuery(held, query),
        view: viewHeldAlert,
        limit: query.limit,
        maxBytes: { hard: options.maxBytes, reader: query.maxBytes },
        texts: 'kept',
      });
    },
    async after(id, limit, maxBytes) {
      const streamId = await streamIdOf(id, 'after');
      if (!streamId) return undefined;
      // Past STORE_RETENTION the alerts after it are not read: the client missed those.
      const expired = receivedMsOf(streamId) < retainedFromMs();
      const found = await scanBack({
        op: 'after',
        end: '+',
        start: expired ? String(retainedFromMs()) : `(${streamId}`,
        keep: () => true,
        view: (held, entryId) => ({ entry: viewHeldAlert(held), entryId }),
        limit,
        maxBytes: { hard: options.maxBytes, reader: maxBytes },
        texts: 'all',
      });
      // Read newest first: where the read ended, which the live reader may not have reached yet.
      const through = streamPosition(found[0]?.entryId ?? streamId);
      const alerts = found.reverse().map(({ entry }) => entry);
      // Trimmed past the client's own entry while the read went on (STORE_MAX_ALERTS, a burst):
      // what came between it and the oldest left may be gone. One entry's id, no text.
      const [[oldest]] = (await sendAll([['XRANGE', keys.alerts, '-', '+', 'COUNT', '1']], 'after')) as [
        Array<[string, unknown]>,
      ];
      const trimmed = oldest !== undefined && isAfter(streamPosition(oldest[0]), streamPosition(streamId));
      return expired || trimmed ? { alerts, through, gap: true } : { alerts, through };
    },
    receivedSince(sinceMs) {
      // Stream ids start with Redis's clock in ms: the range is the receipt window.
      // Only what a summary reads, never the alerts' texts, so the window is not bounded by bytes
      // (it is by STORE_MAX_ALERTS).
      const all = Number.MAX_SAFE_INTEGER;
      return scanBack({
        op: 'since',
        end: '+',
        start: String(Math.max(retainedFromMs(), sinceMs)),
        keep: () => true,
        view: summaryFields,
        limit: all,
        maxBytes: { hard: all },
        texts: 'none',
      });
    },
    async count() {
      return Number(await metrics.time('count', () => conn.send(['XLEN', keys.alerts])));
    },
    flush() {
      if (queue.size() === 0 && sending.length === 0) return Promise.resolve();
      return new Promise((resolve) => drained.push(resolve));
    },
    written() {
      // Unreachable: the alerts wait in the queue, not the answers (ingest keeps its usual time).
      if (closed || !writer.isUp()) return undefined;
      const waiting = answers.wait();
      // Asked once a turn of alerts is in: they leave now rather than a loop turn later.
      if (waiting) void flush();
      return waiting;
    },
    available: () => conn.isUp() && writer.isUp(),
    pending: () => queue.size() + sending.length,
    unwritten: () => [...sending.map((write) => write.id), ...queue.ids()],
    replicaOnline: () => replicas?.replicaOnline() ?? true,
    close() {
      closed = true;
      answers.giveUp();
    },
  };
}
