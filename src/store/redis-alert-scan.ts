import type { HeldAlert } from '../alerts/held-alert.js';
import { createPageSizer } from './page-size.js';
import { decodeAlertEntry, type RedisKeys } from './redis-alert-entry.js';
import type { StoreOp } from './store-metrics.js';

/**
 * Which alert texts (the received JSON, most of an entry's bytes) a scan reads: of every entry, of
 * the entries it keeps only (it reads the fields stream, then the kept ones' texts), or none.
 */
export type ScanTexts = 'all' | 'kept' | 'none';

/** One backward scan of the alerts. */
export interface ScanRequest<T> {
  op: StoreOp;
  /** Newest first from `end` (a stream id, `+` for the newest) down to `start` (`-`: the oldest). */
  end: string;
  start: string;
  keep: (held: HeldAlert) => boolean;
  view: (held: HeldAlert, streamId: string) => T;
  /** At most this many kept. */
  limit: number;
  /**
   * Received bytes kept: at most `hard` (STORE_MAX_BYTES; at least one alert), and the scan stops
   * after the alert that takes them past `reader` (QUERY_MAX_BYTES), so the reader sees the cut.
   */
  maxBytes: { hard: number; reader?: number };
  texts: ScanTexts;
}

/** Sends commands at once (pipelined), timed together as one `op`; resolves with their replies. */
export type SendCommands = (commands: string[][], op: StoreOp) => Promise<unknown[]>;

// 1 when the fields stream holds an entry for every alert and no other. The stream holds every id
// it was given between its oldest and newest (trims take the oldest); the fields stream gets ids
// from it only, and the write that adds its newest trims it to the stream's oldest. So the same
// newest id and length are the same entries. A length alone is not: a version without the fields
// stream adds an alert and trims the oldest, and the fields, one newer alert short and one trimmed
// alert long, are as long as the stream.
const FIELDS_WHOLE_SCRIPT = `
local function newest(key)
  local entry = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  return entry and entry[1] or ''
end
local same = redis.call('XLEN', KEYS[1]) == redis.call('XLEN', KEYS[2]) and newest(KEYS[1]) == newest(KEYS[2])
return same and 1 or 0
`;

// The characters of an entry's field names and values: the size of a fields stream entry.
const entryChars = (raw: unknown) =>
  (raw as [string, string[]])[1].reduce((sum, text) => sum + text.length, 0);

/** Scans of the alerts, page by page, reading as few of their texts as the request allows. */
export function createStreamScanner(options: {
  keys: Pick<RedisKeys, 'alerts' | 'fields'>;
  send: SendCommands;
  maxEntries: number;
}) {
  const { keys, send } = options;

  // Whether every alert has its fields entry. They differ while alerts written by a version
  // without the fields stream are held (they age out), or after one could not be written.
  async function fieldsComplete(op: StoreOp): Promise<boolean> {
    const [whole] = await send([['EVAL', FIELDS_WHOLE_SCRIPT, '2', keys.alerts, keys.fields]], op);
    return whole === 1;
  }

  async function withTexts(
    kept: Array<{ streamId: string; held: HeldAlert }>,
    texts: ScanTexts,
    op: StoreOp,
  ): Promise<Array<{ streamId: string; held: HeldAlert }>> {
    if (texts !== 'kept' || kept.length === 0) return kept;
    const replies = await send(
      kept.map(({ streamId }) => ['XRANGE', keys.alerts, streamId, streamId]),
      op,
    );
    // An entry trimmed since its fields were read is left out.
    return replies.flatMap((reply) => (reply as unknown[]).map((raw) => decodeAlertEntry(raw)));
  }

  return async function scanBack<T>(request: ScanRequest<T>): Promise<T[]> {
    const { op } = request;
    const texts = request.texts !== 'all' && !(await fieldsComplete(op)) ? 'all' : request.texts;
    const stream = texts === 'all' ? keys.alerts : keys.fields;
    const readerBytes = request.maxBytes.reader ?? Number.POSITIVE_INFINITY;
    const found: T[] = [];
    const sizer = createPageSizer();
    let from = request.end;
    let keptBytes = 0;
    let done = false;
    for (let scanned = 0; !done && scanned <= options.maxEntries * 2;) {
      const count = sizer.next();
      const [page] = await send([['XREVRANGE', stream, from, request.start, 'COUNT', String(count)]], op);
      const entries = page as unknown[];
      scanned += entries.length;
      const sizes: number[] = [];
      const kept: Array<{ streamId: string; held: HeldAlert }> = [];
      for (const raw of entries) {
        const { streamId, held } = decodeAlertEntry(raw);
        sizes.push(texts === 'all' ? held.bytes : entryChars(raw));
        from = `(${streamId}`;
        if (!request.keep(held)) continue;
        keptBytes += held.bytes;
        const keeping = found.length + kept.length;
        if ((done = keeping > 0 && keptBytes > request.maxBytes.hard)) break;
        kept.push({ streamId, held });
        if ((done = keeping + 1 >= request.limit || keptBytes > readerBytes)) break;
      }
      for (const { streamId, held } of await withTexts(kept, texts, op))
        found.push(request.view(held, streamId));
      done ||= entries.length < count;
      sizer.saw(sizes);
    }
    return found;
  };
}
