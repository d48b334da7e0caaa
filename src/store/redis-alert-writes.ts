import type { Logger } from 'pino';
import type { AlertStore } from '../alerts/alert-store.js';
import { buildDedupKey } from '../alerts/dedup-sink.js';
import { createAnswerWaits } from './answer-waits.js';
import { logPendingDrops } from './log-pending-drops.js';
import { logWriteReplies } from './log-write-replies.js';
import { createPendingWrites, type PendingWrite } from './pending-writes.js';
import { encodeAlertArgs, type RedisKeys } from './redis-alert-entry.js';
import type { RedisConnection } from './redis-connection.js';
import {
  buildWriteBatchArgs,
  storedWrites,
  type WriteReply,
  type WriteSettings,
} from './redis-write-batch.js';
import { createWriteConfirmations } from './redis-write-confirmations.js';
import { createSettledWrites, type WrittenAlert } from './settled-writes.js';
import type { StoreMetrics } from './store-metrics.js';

// One script call writes at most this many alerts / about this many bytes; a turn sends up to
// PIPELINE calls at once on the one connection (pipelined, one round trip).
const BATCH = 256;
const BATCH_BYTES = 4 * 1024 * 1024;
const PIPELINE = 8;
const RETRY_MS = 1_000;
// How long an ingest answer waits for its alert's write before the store counts as lagging (then
// answers go at once, as while Redis is down): a hung Redis holds answers this long, once.
const ANSWER_WAIT_MS = 500;

/** The writes of a `RedisAlertStore`, plus what the owner needs to wait for and stop them. */
export type RedisAlertWrites = Pick<AlertStore, 'add' | 'flush' | 'written'> &
  Required<Pick<AlertStore, 'admits'>> & {
    pending(): number;
    /** The ids of the alerts not known to be written (queued, or sent with no reply yet), oldest first. */
    unwritten(): string[];
    /** Through Sentinel: false while the master has no replica online (writes confirmed by none). */
    replicaOnline(): boolean;
    close(): void;
  };

/** The options of `createRedisAlertWrites`, as in RedisAlertStoreOptions. */
export type RedisAlertWritesOptions = WriteSettings & {
  /** The link writes go through. */
  writer: RedisConnection;
  keys: RedisKeys;
  metrics: StoreMetrics;
  logger: Logger;
  pendingMax: number;
  maxBytes: number;
  confirmReplicated?: boolean;
  /** The receipt time STORE_RETENTION keeps alerts from, now, on Redis's clock (stream ids'). */
  retainedFromMs: () => Promise<number>;
  /** Called with an alert written (and settled) before the link dropped that Redis lost since. */
  onWrittenLost?: (write: WrittenAlert) => void;
};

/**
 * The store's writes. `add` never waits: the alert joins a bounded queue that is written once per event-loop turn, in
 * order, as pipelined script calls, and stays queued (retried) while Redis is down or hung.
 * `written` lets ingest answer once Redis has them, and `admits` refuse an alert rather than drop a
 * queued one whose answer waits.
 */
export function createRedisAlertWrites(options: RedisAlertWritesOptions): RedisAlertWrites {
  const { writer, keys, metrics, logger } = options;
  const queue = createPendingWrites(options.pendingMax, options.maxBytes);
  const settled = createSettledWrites({
    send: (args) => writer.send(args),
    keys,
    retainedFromMs: options.retainedFromMs,
    onLost: (write) => options.onWrittenLost?.(write),
  });
  const replicas = options.confirmReplicated
    ? createWriteConfirmations({ ...options, onConfirmed: settled.settled })
    : undefined;
  const answers = createAnswerWaits({ maxWaitMs: ANSWER_WAIT_MS });
  const drops = logPendingDrops(metrics, logger);
  const scriptReplies = logWriteReplies(metrics, logger);
  const drained: Array<() => void> = [];
  // The alerts of the batches sent and not answered yet.
  let sending: PendingWrite[] = [];
  let scheduled = false;
  let flushing = false;
  let closed = false;

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

  function writeBatch(batch: PendingWrite[]): Promise<unknown> {
    return metrics.time('write', () => writer.send(buildWriteBatchArgs(options, keys, batch)));
  }

  async function flush(): Promise<void> {
    if (flushing || !writer.isUp()) return;
    flushing = true;
    // Before any write of this link: whether Redis still holds what was written before it dropped.
    await settled.verify();
    // Back after a drop, maybe on a promoted replica: what no replica was known to hold, and the
    // master lacks, goes first (oldest first, as the queue: past its bounds they are lost, and counted).
    const again = replicas ? await replicas.takeMissing() : [];
    if (again.length > 0) drops.dropped(queue.giveBack(again), again[0]!.id);
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
      for (const reply of replies) scriptReplies.wrote(reply);
      // Taken oldest first: every alert numbered up to the round's newest is written or was dropped.
      if (failedAt < 0) answers.written(round.reduce((newest, write) => Math.max(newest, write.seq ?? 0), 0));
      // Through Sentinel the next round waits for this one's WAIT: while the replicas online do not
      // all confirm in time, answers waiting on writes would take its 250 ms each, so they go at once
      // instead. With no replica online there is no WAIT, and answers wait for the write as usual.
      // Without Sentinel a write is settled once written (nothing writes it again).
      const stored = storedWrites(batches, replies);
      if (!replicas) settled.settled(stored);
      const confirmed = replicas ? await replicas.confirm(stored) : true;
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
        drops.dropped(queue.giveBack(back), back[0]?.id ?? '');
        retryLater = true;
      }
    }
    flushing = false;
    if (queue.size() === 0) {
      drops.writtenUp();
      for (const resolve of drained.splice(0)) resolve();
    } else if (retryLater && writer.isUp()) schedule(RETRY_MS);
    // The link came back while this flush ran (its own flush found this one running): what not
    // every replica confirmed before goes now, not with the next alert (an idle receiver may get none).
    if (replicas?.owed()) schedule();
  }
  writer.onUp(() => {
    replicas?.relinked();
    settled.relinked();
    schedule();
  });

  return {
    add(entry) {
      const dedupKey = options.dedupWindowMs > 0 ? buildDedupKey(entry.alert) : '';
      const args = encodeAlertArgs(entry, dedupKey);
      const lost = queue.push({ id: entry.id, args, bytes: entry.bytes, seq: answers.next() });
      if (lost.length > 0) drops.dropped(lost.length, lost[0]!.id);
      schedule();
    },
    admits(bytes) {
      // Unreachable, the answers do not wait: the oldest queued are dropped, as while Redis is away.
      if (closed || !writer.isUp()) return true;
      // While Redis answers, a 202 means it has the alert: one whose answer waits is not dropped.
      return !queue.wouldDrop(bytes, (write) => write.seq !== undefined && answers.waitsFor(write.seq));
    },
    flush() {
      if (queue.size() === 0 && sending.length === 0) return Promise.resolve();
      return new Promise((resolve) => drained.push(resolve));
    },
    written() {
      // Unreachable: the alerts wait in the queue, not the answers (ingest keeps its usual time).
      if (closed || !writer.isUp()) {
        answers.skip();
        return undefined;
      }
      const waiting = answers.wait();
      // Asked once a turn of alerts is in: they leave now rather than a loop turn later.
      if (waiting) void flush();
      return waiting;
    },
    pending: () => queue.size() + sending.length,
    unwritten: () => [...sending.map((write) => write.id), ...queue.ids()],
    replicaOnline: () => replicas?.replicaOnline() ?? true,
    close() {
      closed = true;
      answers.giveUp();
      drops.flush();
      scriptReplies.flush();
      replicas?.close();
    },
  };
}
