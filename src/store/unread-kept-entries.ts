import type { DeliveredEntries } from './delivered-entries.js';
import { decodeEntryFields } from './entry-fields.js';
import type { PageSizer } from './page-size.js';
import type { RedisKeys } from './redis-alert-entry.js';

/** Entries of the fields stream (no texts) read at once by the walk back. */
const PAGE = 100;

/**
 * After the stream changed under the live reader: gives `unread` the entries up to `lastId` (where
 * it had read) that it never published, oldest first, a page at a time (their texts may be large),
 * and answers the newest entry it did publish that the stream kept; undefined when none of the
 * stream's `maxWalk` entries up to `lastId` is one it published (made anew, or what it read was
 * trimmed since), and then gives none. A promoted replica holds the old
 * master's entries up to where it had them, then its own: those written while this reader still
 * read the old master may have ids before `lastId`, and a read after `lastId` skips them.
 * The walk back reads the fields stream (no alert texts) to the newest entry published; the entries
 * after it are then read with their texts, those published left out.
 */
export async function readUnreadKeptEntries(options: {
  send: (args: string[]) => Promise<unknown>;
  keys: Pick<RedisKeys, 'alerts' | 'fields'>;
  lastId: string;
  delivered: DeliveredEntries;
  maxWalk: number;
  /**
   * How many entries with their texts to read at once (the live reader's own): 100 alerts of
   * BODY_LIMIT_BYTES were one reply of 175 MiB, in Redis's output buffer and this heap at once.
   */
  pageSize: PageSizer;
  unread: (raw: unknown) => void;
}): Promise<string | undefined> {
  const { send, keys, delivered } = options;
  let kept: string | undefined;
  let end = options.lastId;
  for (let walked = 0; kept === undefined && walked < options.maxWalk;) {
    const page = (await send(['XREVRANGE', keys.fields, end, '-', 'COUNT', String(PAGE)])) as unknown[];
    for (const raw of page) {
      const { streamId, id } = decodeEntryFields(raw);
      if (delivered.has(streamId, id)) {
        kept = streamId;
        break;
      }
      end = `(${streamId}`;
    }
    if (page.length < PAGE) break;
    walked += page.length;
  }
  if (kept === undefined) return undefined;
  // From the alerts stream, not the fields one: an entry the fields stream lacks (a version before
  // it, a failed write of it) is read too.
  for (let start = `(${kept}`; ;) {
    const count = options.pageSize.next();
    const page = (await send([
      'XRANGE',
      keys.alerts,
      start,
      options.lastId,
      'COUNT',
      String(count),
    ])) as Array<[string, string[]]>;
    const sizes: number[] = [];
    for (const raw of page) {
      const { id, json = '' } = decodeEntryFields(raw);
      sizes.push(json.length);
      if (!delivered.has(raw[0], id)) options.unread(raw);
    }
    options.pageSize.saw(sizes);
    if (page.length < count) return kept;
    start = `(${page.at(-1)![0]}`;
  }
}
