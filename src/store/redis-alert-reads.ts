import type { AlertQuery, AlertStore } from '../alerts/alert-store.js';
import { viewHeldAlert } from '../alerts/held-alert.js';
import { isAfter } from '../alerts/store-position.js';
import { streamPosition, type RedisKeys } from './redis-alert-entry.js';
import { createEntryReads } from './redis-entry-reads.js';
import type { UnreadableEntries } from './skip-unreadable-entries.js';
import type { RedisClock } from './redis-clock.js';
import type { RedisConnection } from './redis-connection.js';
import { createStreamScanner } from './redis-alert-scan.js';
import type { StoreMetrics, StoreOp } from './store-metrics.js';

/** The reads of a `RedisAlertStore`. */
export type RedisAlertReads = Pick<AlertStore, 'get' | 'query' | 'after' | 'receivedSince' | 'count'>;

// The stream entry of an alert id, or of the stored alert it is an alias of (a re-send another
// replica accepted and the dedup window dropped), as `sid` (false when none). KEYS: ids. ARGV: id,
// aliasPrefix.
const FIND_STREAM_ID = `
local sid = redis.call('HGET', KEYS[1], ARGV[1])
if not sid then
  local original = redis.call('GET', ARGV[2] .. ARGV[1])
  if original then sid = redis.call('HGET', KEYS[1], original) end
end
`;
const STREAM_ID_SCRIPT = `${FIND_STREAM_ID}return sid`;
// That entry's stream id and the one the alert had before on a master that lost it (its \`was\`
// field; '' for none), read from the fields stream (no text). KEYS: ids, fields. ARGV: as above.
const RESUME_POINT_SCRIPT = `${FIND_STREAM_ID}
if not sid then return false end
local entry = redis.call('XRANGE', KEYS[2], sid, sid)[1]
local fields = entry and entry[2] or {}
for i = 1, #fields, 2 do
  if fields[i] == 'was' then return {sid, fields[i + 1]} end
end
return {sid, ''}
`;

// A stream id starts with Redis's clock in ms when the alert was written.
const receivedMsOf = (streamId: string) => Number(streamId.slice(0, streamId.indexOf('-')));

/** Reads of the alerts in the shared stream, skipping what is past STORE_RETENTION. */
export function createRedisAlertReads(options: {
  connection: RedisConnection;
  keys: RedisKeys;
  metrics: StoreMetrics;
  unreadable: UnreadableEntries;
  maxAlerts: number;
  /** STORE_MAX_BYTES: the most received bytes one read keeps. */
  maxBytes: number;
  /** The receipt time STORE_RETENTION keeps alerts from, now, on Redis's clock (stream ids'). */
  retainedFromMs: () => Promise<number>;
  /** Redis's clock, as `connection`'s node keeps it. */
  clock: RedisClock;
}): RedisAlertReads {
  const { connection: conn, keys, metrics, retainedFromMs } = options;

  function sendAll(commands: string[][], op: StoreOp): Promise<unknown[]> {
    return metrics.time(op, () => Promise.all(commands.map((args) => conn.send(args))));
  }
  const { unreadable } = options;
  const scanBack = createStreamScanner({ keys, send: sendAll, maxEntries: options.maxAlerts, unreadable });
  const { readWhole } = createEntryReads(keys, sendAll, unreadable);

  async function streamIdOf(id: string, op: StoreOp): Promise<string | undefined> {
    const streamId = await metrics.time(op, () =>
      conn.send(['EVAL', STREAM_ID_SCRIPT, '1', keys.ids, id, keys.alias]),
    );
    return typeof streamId === 'string' ? streamId : undefined;
  }

  // Where the replay after alert `id` goes on from: its stream id, or the one it had on a master
  // that lost it (the client had it there) when that came first; `moved` when it had one. The
  // stream then holds the old master's alerts up to where the promoted one had them, each before
  // that old place, and after them the promoted one's own: those written before the alert was
  // written again, which the client never had, and maybe before its old place too (written first,
  // or with the promoted master's clock behind). Which of the alerts before the place read from are
  // the promoted master's is unknown: the client is told it may have missed some.
  async function resumePointOf(id: string): Promise<{ from: string; moved: boolean } | undefined> {
    const reply = await metrics.time('after', () =>
      conn.send(['EVAL', RESUME_POINT_SCRIPT, '2', keys.ids, keys.fields, id, keys.alias]),
    );
    if (!Array.isArray(reply)) return undefined;
    const [streamId, was] = reply as [string, string];
    if (was === '') return { from: streamId, moved: false };
    return { from: isAfter(streamPosition(streamId), streamPosition(was)) ? was : streamId, moved: true };
  }

  return {
    async get(id) {
      const streamId = await streamIdOf(id, 'get');
      if (!streamId || receivedMsOf(streamId) < (await retainedFromMs())) return undefined;
      // Undefined once trimmed, or when its stored texts are not readable (stored-json.ts).
      const [whole] = await readWhole([streamId], 'get');
      return whole?.held && viewHeldAlert(whole.held);
    },
    async query(query: AlertQuery) {
      // Filters and sizes first: the texts of the alerts that do not match are never read.
      const { found, cut } = await scanBack({
        op: 'query',
        end: '+',
        start: String(await retainedFromMs()),
        filter: query,
        view: viewHeldAlert,
        limit: query.limit,
        maxBytes: { hard: options.maxBytes, reader: query.maxBytes, readAhead: query.readAheadBytes },
        texts: 'kept',
      });
      return { alerts: found, ...(cut ? { cut: true } : {}) };
    },
    async after(id, limit, maxBytes) {
      const point = await resumePointOf(id);
      if (!point) return undefined;
      const { from, moved } = point;
      // Past STORE_RETENTION the alerts after it are not read: the client missed those.
      const retainedFrom = await retainedFromMs();
      const expired = receivedMsOf(from) < retainedFrom;
      const { found, cut } = await scanBack({
        op: 'after',
        end: '+',
        start: expired ? String(retainedFrom) : `(${from}`,
        view: (held, entryId) => ({ entry: viewHeldAlert(held), entryId }),
        limit,
        maxBytes: { hard: options.maxBytes, reader: maxBytes },
        texts: 'all',
      });
      // Read newest first: where the read ended, which the live reader may not have reached yet.
      const through = streamPosition(found[0]?.entryId ?? from);
      const alerts = found.reverse().map(({ entry }) => entry);
      // Trimmed past the client's own entry while the read went on (STORE_MAX_ALERTS, a burst):
      // what came between it and the oldest left may be gone. One entry's id, no text.
      const [[oldest]] = (await sendAll([['XRANGE', keys.alerts, '-', '+', 'COUNT', '1']], 'after')) as [
        Array<[string, unknown]>,
      ];
      const trimmed = oldest !== undefined && isAfter(streamPosition(oldest[0]), streamPosition(from));
      return {
        alerts,
        through,
        ...(expired || trimmed ? { gap: true } : {}),
        ...(moved ? { moved: true } : {}),
        ...(cut ? { cut: true } : {}),
      };
    },
    async receivedSince(sinceMs, count) {
      // Stream ids start with Redis's clock in ms: the range is the receipt window, moved from
      // this process's clock into Redis's (an hour apart, "the last 15 minutes" read nothing).
      const redisAheadMs = (await options.clock.nowMs()) - Date.now();
      // Only what a summary reads, never the alerts' texts, so the window is not bounded by bytes
      // (it is by STORE_MAX_ALERTS). Long rules capped, as the entries hold them, and the summary
      // shows their start (no name is read whole to show it).
      const all = Number.MAX_SAFE_INTEGER;
      await scanBack({
        op: 'since',
        end: '+',
        start: String(Math.max(await retainedFromMs(), sinceMs + redisAheadMs, 0)),
        // Counted as each page is read, nothing kept per rule: a Map from each rule read to one copy
        // of it, for entries gathered whole, grew in one piece per doubling (57 ms at 262,144 rules).
        view: ({ receivedAtMs, priority, rule }) => count(receivedAtMs, priority, rule),
        limit: all,
        maxBytes: { hard: all },
        texts: 'none',
      });
    },
    async count() {
      return Number(await metrics.time('count', () => conn.send(['XLEN', keys.alerts])));
    },
  };
}
