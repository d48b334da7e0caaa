import type { Logger } from 'pino';
import type { AlertQuery, AlertStore, SummaryEntry } from '../alerts/alert-store.js';
import { buildDedupKey } from '../alerts/dedup-sink.js';
import { viewHeldAlert } from '../alerts/held-alert.js';
import { matchesQuery } from '../alerts/match-alert.js';
import { createPageSizer } from './page-size.js';
import { createPendingWrites } from './pending-writes.js';
import { decodeAlertEntry, encodeAlertArgs, WRITE_SCRIPT, type RedisKeys } from './redis-alert-entry.js';
import type { RedisConnection } from './redis-connection.js';
import type { StoreMetrics } from './store-metrics.js';

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
}

// One script call writes at most this many alerts / about this many bytes; a turn sends up to
// PIPELINE calls at once on the one connection (pipelined, one round trip).
const BATCH = 256;
const BATCH_BYTES = 4 * 1024 * 1024;
const PIPELINE = 8;
const RETRY_MS = 1_000;

/** The store a `RedisAlertStore` is, plus what the owner needs to wait for and stop it. */
export type RedisAlertStore = AlertStore & { pending(): number; close(): void };

/**
 * Alerts in one Redis Stream shared by every replica. `add` never waits: the alert joins a bounded
 * queue that is written once per event-loop turn, in order, as pipelined script calls, and stays
 * queued (retried) while Redis is down or hung.
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

// A stream id starts with Redis's clock in ms when the alert was written.
const receivedMsOf = (streamId: string) => Number(streamId.slice(0, streamId.indexOf('-')));

export function createRedisAlertStore(options: RedisAlertStoreOptions): RedisAlertStore {
  const { connection: conn, keys, metrics, logger } = options;
  // Writes trim what is older than STORE_RETENTION; reads skip it too, so an alert leaves every
  // answer on time even when no alert has been written since.
  const retainedFromMs = () => Math.max(0, Date.now() - options.retentionMs);
  const queue = createPendingWrites(options.pendingMax, options.maxBytes);
  const drained: Array<() => void> = [];
  let inFlight = 0;
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
      '2',
      keys.alerts,
      keys.ids,
      ...header,
      ...batch.flatMap((w) => w.args),
    ];
    return metrics.time('write', () => conn.send(args));
  }

  async function flush(): Promise<void> {
    if (flushing || !conn.isUp()) return;
    flushing = true;
    let retryLater = false;
    while (queue.size() > 0 && conn.isUp() && !retryLater) {
      const batches = [];
      for (let i = 0; i < PIPELINE && queue.size() > 0; i++) batches.push(queue.take(BATCH, BATCH_BYTES));
      inFlight = batches.reduce((n, b) => n + b.length, 0);
      const results = await Promise.allSettled(batches.map(writeBatch));
      inFlight = 0;
      const failedAt = results.findIndex((result) => result.status === 'rejected');
      for (const result of results.slice(0, failedAt < 0 ? undefined : failedAt))
        if (result.status === 'fulfilled') metrics.duplicatesDropped((result.value as unknown[]).length);
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
    } else if (retryLater && conn.isUp()) schedule(RETRY_MS);
  }
  conn.onUp(() => schedule());

  async function page(args: string[], op: Parameters<StoreMetrics['time']>[0]): Promise<unknown[]> {
    return (await metrics.time(op, () => conn.send(args))) as unknown[];
  }

  // Newest first from `end` (a stream id, `+` for the newest), page by page while `keep` allows,
  // keeping at most `limit` alerts and `maxBytes.hard` of received bytes (STORE_MAX_BYTES: at least
  // one alert), and stopping after the one that takes them past `maxBytes.reader` (QUERY_MAX_BYTES).
  async function scanBack<T>(
    end: string,
    op: Parameters<StoreMetrics['time']>[0],
    keep: (entry: ReturnType<typeof decodeAlertEntry>['held']) => boolean | 'stop',
    limit: number,
    view: (held: ReturnType<typeof decodeAlertEntry>['held']) => T,
    maxBytes: { hard: number; reader?: number },
    start = '-',
  ): Promise<T[]> {
    const found: T[] = [];
    const sizer = createPageSizer();
    let from = end;
    let keptBytes = 0;
    for (let scanned = 0; found.length < limit && scanned <= options.maxAlerts * 2;) {
      const count = sizer.next();
      const entries = await page(['XREVRANGE', keys.alerts, from, start, 'COUNT', String(count)], op);
      scanned += entries.length;
      const sizes: number[] = [];
      for (const raw of entries) {
        const { streamId, held } = decodeAlertEntry(raw);
        sizes.push(held.bytes);
        from = `(${streamId}`;
        const verdict = keep(held);
        if (verdict === 'stop') return found;
        if (!verdict) continue;
        keptBytes += held.bytes;
        if (found.length > 0 && keptBytes > maxBytes.hard) return found;
        found.push(view(held));
        // The alert that crosses a reader's budget is kept: the reader sees the list was cut.
        if (found.length >= limit || keptBytes > (maxBytes.reader ?? Number.POSITIVE_INFINITY)) return found;
      }
      if (entries.length < count) break;
      sizer.saw(sizes);
    }
    return found;
  }

  async function streamIdOf(
    id: string,
    op: Parameters<StoreMetrics['time']>[0],
  ): Promise<string | undefined> {
    const streamId = await metrics.time(op, () =>
      conn.send(['EVAL', STREAM_ID_SCRIPT, '1', keys.ids, id, keys.alias]),
    );
    return typeof streamId === 'string' ? streamId : undefined;
  }

  return {
    add(entry) {
      const dedupKey = options.dedupWindowMs > 0 ? buildDedupKey(entry.alert) : '';
      const args = encodeAlertArgs(entry, dedupKey);
      const lost = queue.push({ id: entry.id, args, bytes: entry.bytes });
      if (lost.length > 0) dropped(lost.length, lost[0]!.id);
      schedule();
    },
    async get(id) {
      const streamId = await streamIdOf(id, 'get');
      if (!streamId || receivedMsOf(streamId) < retainedFromMs()) return undefined;
      const [raw] = await page(['XRANGE', keys.alerts, streamId, streamId], 'get');
      return raw === undefined ? undefined : viewHeldAlert(decodeAlertEntry(raw).held);
    },
    query(query: AlertQuery) {
      return scanBack(
        '+',
        'query',
        (held) => matchesQuery(held, query),
        query.limit,
        viewHeldAlert,
        { hard: options.maxBytes, reader: query.maxBytes },
        String(retainedFromMs()),
      );
    },
    async after(id, limit) {
      const streamId = await streamIdOf(id, 'after');
      if (!streamId) return undefined;
      const found = await scanBack(
        '+',
        'after',
        () => true,
        limit,
        viewHeldAlert,
        { hard: options.maxBytes },
        receivedMsOf(streamId) < retainedFromMs() ? String(retainedFromMs()) : `(${streamId}`,
      );
      return found.reverse();
    },
    receivedSince(sinceMs) {
      // Stream ids start with Redis's clock in ms: the range is the receipt window.
      // Only what a summary reads: the alert's text is dropped as each page is decoded, so the
      // window is not bounded by bytes (it is by STORE_MAX_ALERTS).
      const all = Number.MAX_SAFE_INTEGER;
      return scanBack(
        '+',
        'since',
        () => true,
        all,
        summaryFields,
        { hard: all },
        String(Math.max(retainedFromMs(), sinceMs)),
      );
    },
    async count() {
      return Number(await metrics.time('count', () => conn.send(['XLEN', keys.alerts])));
    },
    flush() {
      if (queue.size() === 0 && inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => drained.push(resolve));
    },
    available: () => conn.isUp(),
    pending: () => queue.size() + inFlight,
    close() {
      closed = true;
    },
  };
}
