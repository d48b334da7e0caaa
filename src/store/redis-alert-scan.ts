import type { HeldAlert } from '../alerts/held-alert.js';
import { matchesQuery } from '../alerts/match-alert.js';
import { createCappedMatcher, type AlertFilter } from './match-capped-entry.js';
import { createPageSizer, PAGE_BYTES } from './page-size.js';
import { createPageTurns } from './page-turns.js';
import { createReadAhead } from './read-ahead-texts.js';
import { decodeEntryFields, type EntryFields } from './entry-fields.js';
import type { RedisKeys } from './redis-alert-entry.js';
import type { UnreadableEntries } from './skip-unreadable-entries.js';
import { createEntryReads, type Kept, type ReadAhead, type SendCommands } from './redis-entry-reads.js';
import type { StoreOp } from './store-metrics.js';

/**
 * Which alert texts (the received JSON, most of an entry's bytes) a scan reads: of every entry, of
 * the entries it keeps only (it reads the fields stream, then the kept ones' texts), or none.
 */
export type ScanTexts = 'all' | 'kept' | 'none';

interface ScanBounds {
  op: StoreOp;
  /** Newest first from `end` (a stream id, `+` for the newest) down to `start` (`-`: the oldest). */
  end: string;
  start: string;
  /** The alerts kept; every one when absent. */
  filter?: AlertFilter;
  /** At most this many kept. */
  limit: number;
  /**
   * Received bytes kept: at most `hard` (STORE_MAX_BYTES; at least one alert), and the scan stops
   * after the alert that takes them past `reader` (QUERY_MAX_BYTES), so the reader sees the cut.
   * `readAhead`: what the reader was admitted for in the readers' budget, when less than `reader`
   * (a list of a few alerts): texts read ahead stay within it too.
   */
  maxBytes: { hard: number; reader?: number; readAhead?: number };
}

/**
 * One backward scan of the alerts. With texts, `view` gets each alert kept as held (with its
 * JSON and its own texts); without, its entry's fields (texts capped).
 */
export type ScanRequest<T> = ScanBounds &
  (
    | { texts: 'all' | 'kept'; view: (held: HeldAlert, streamId: string) => T }
    // A view that returns undefined keeps nothing: a visitor (a summary counts each entry).
    | { texts: 'none'; view: (fields: EntryFields) => T | undefined }
  );

export type { SendCommands } from './redis-entry-reads.js';

/**
 * What a scan found, and `cut` when it stopped at a bound of its own short of the range's start
 * (STORE_MAX_BYTES of alerts kept, or about 2 x STORE_MAX_ALERTS entries read): older alerts of the
 * range may be left out, which its reader must be told. A stop at `limit` or at `maxBytes.reader` is
 * not `cut`: the reader sees those itself (the alert past them).
 */
export interface ScanResult<T> {
  found: T[];
  cut: boolean;
}

// The characters of an entry's field names and values: the size of a fields stream entry.
const entryChars = (raw: unknown) =>
  (raw as [string, string[]])[1].reduce((sum, text) => sum + text.length, 0);

const bytesOf = (kept: readonly Kept[]) => kept.reduce((sum, { fields }) => sum + fields.bytes, 0);

// Stream pages read at once by one process (page-turns.ts).
const PAGES_AT_ONCE = 2;

/** Scans of the alerts, page by page, reading as few of their texts as the request allows. */
export function createStreamScanner(options: {
  keys: Pick<RedisKeys, 'alerts' | 'fields'>;
  send: SendCommands;
  /** STORE_MAX_ALERTS: a scan reads about twice as many entries at most (past a run of unreadable ones). */
  maxEntries: number;
  /** Skips the entries whose tags are not JSON or whose text is not an alert ingest accepts. */
  unreadable: UnreadableEntries;
}) {
  const { keys, send, unreadable } = options;
  const turns = createPageTurns(PAGES_AT_ONCE);

  const { fieldsComplete, hold, readWhole, withTexts } = createEntryReads(keys, send, unreadable);

  return async function scanBack<T>(request: ScanRequest<T>): Promise<ScanResult<T>> {
    const { op, filter } = request;
    // The alerts stream holds the same fields, and the JSON: read when the fields stream is not whole.
    const stream = request.texts !== 'all' && (await fieldsComplete(op)) ? keys.fields : keys.alerts;
    const match = filter ? createCappedMatcher(filter) : () => true;
    const readerBytes = request.maxBytes.reader ?? Number.POSITIVE_INFINITY;
    const found: T[] = [];
    // Alerts settled, whether `found` holds them or a visitor took them (the limit counts both).
    let settled = 0;
    const sizer = createPageSizer();
    let from = request.end;
    let keptBytes = 0;
    let done = false;
    // Stopped at STORE_MAX_BYTES with an older alert to keep.
    let full = false;
    // Read ahead, an entry may never be reached: tags that are not JSON are counted when it is.
    // About PAGE_BYTES of texts at most, and no more than the scan's own bytes, nor than what its
    // reader was admitted for: a list QUERY_MAX_BYTES or its limit in bodies (alerts.ts); a list of
    // one alert past a run read 4 MB ahead, admitted for 1.75 MiB. (A replay reads the alerts stream,
    // whose entries hold their texts: it reads none ahead.) A bound that is not a number bounds
    // nothing: in Math.min a caller's NaN made the bound NaN, which no sum passes (in the scan and in
    // READ_AHEAD_SCRIPT alike), and a list read 10 MB of texts ahead.
    const aheadBounds = [PAGE_BYTES, request.maxBytes.hard, readerBytes, request.maxBytes.readAhead];
    const readAhead = createReadAhead(
      (fields) => {
        try {
          return match(fields) !== false;
        } catch {
          return false;
        }
      },
      Math.min(
        ...aheadBounds.filter((bytes): bytes is number => bytes !== undefined && !Number.isNaN(bytes)),
      ),
    );

    // The alert, when it passes the filter with its JSON (which alone tells about its tags).
    async function passingWhole(fields: EntryFields, ahead: ReadAhead): Promise<Kept | undefined> {
      const [whole] =
        fields.json === undefined ? await readWhole([fields.streamId], op, ahead) : [hold(fields)];
      return whole?.held && matchesQuery(whole.held, filter!) ? whole : undefined;
    }

    // An entry that passes, as kept. Read with its text (the alerts stream), held at once: one whose
    // text is not readable is left out here, as the filter leaves one out, and takes no place in the
    // limit and the bytes. Given back later (holdKept), the page was read again from it: a replay
    // past a run of them, each a few alerts' bytes, read the same entries until its bound on entries
    // read ended it short of older alerts, with no cut for the reader to see (no `event: truncated`).
    const keep = (fields: EntryFields): Kept | undefined =>
      stream === keys.alerts && request.texts !== 'none' ? hold(fields) : { fields };

    // The kept entries, into `found`: as their fields, or held. Those of the fields stream whose text
    // is not readable are left out (skipUnreadableEntries) after they took a place in the limit and
    // the bytes: given back here. `ahead`: the texts read with theirs (read-ahead-texts.ts).
    async function settle(kept: Kept[], ahead: ReadAhead): Promise<void> {
      if (request.texts === 'none') {
        for (const { fields } of kept) {
          const value = request.view(fields);
          if (value !== undefined) found.push(value);
          settled++;
        }
      } else await holdKept(kept, request.view, ahead);
    }

    // One page: what it keeps, within the limit and the byte caps, and whether it read to the end
    // of the range. Its raw entries die with it. Where the kept ones reach the limit or a byte cap,
    // they are settled first and the page goes on from there: read again from that entry instead,
    // past a run of unreadable ones of the fields stream (a list), each page moved a few entries on
    // while its whole length counted against the bound on entries read, which ended the scan inside
    // the run, short of older alerts, neither past the limit nor the bytes (`truncated: false`).
    async function readPage(count: number): Promise<{ kept: Kept[]; read: number; end: boolean }> {
      const [page] = await send([['XREVRANGE', stream, from, request.start, 'COUNT', String(count)]], op);
      const entries = page as unknown[];
      const sizes: number[] = [];
      let kept: Kept[] = [];
      const crosses = (bytes: number) =>
        settled + kept.length > 0 && keptBytes + bytes > request.maxBytes.hard;
      for (const [at, raw] of entries.entries()) {
        const fields = decodeEntryFields(raw);
        sizes.push(stream === keys.alerts ? fields.bytes : entryChars(raw));
        // Awaited only when the fields cannot tell: an await for each of 10,000 entries costs.
        // Tags that are not JSON: left out, as they are from the alert read whole.
        const passes = unreadable.decode(fields.streamId, () => match(fields), false);
        const entry =
          passes === undefined
            ? await passingWhole(fields, readAhead.at(entries, at + 1))
            : passes
              ? keep(fields)
              : undefined;
        if (entry && crosses(fields.bytes)) {
          // Ahead from this entry on, unless it is held already (its text read, to filter it).
          await settle(kept, readAhead.at(entries, entry.held ? at + 1 : at));
          kept = [];
          // Left unread (`from` stays before it): the scan ends here, and says it left it out.
          if ((done = full = crosses(fields.bytes))) break;
        }
        if (entry) {
          keptBytes += fields.bytes;
          kept.push(entry);
        }
        from = `(${fields.streamId}`;
        if (entry && (settled + kept.length >= request.limit || keptBytes > readerBytes)) {
          await settle(kept, readAhead.at(entries, at + 1));
          kept = [];
          if ((done = settled >= request.limit || keptBytes > readerBytes)) break;
        }
      }
      sizer.saw(sizes);
      // A short page is the range's last, unless the scan stopped inside it.
      return { kept, read: entries.length, end: !done && entries.length < count };
    }

    // The kept entries of a page, held, into `found`; the bytes of those left out given back.
    // Kept, a replay that left older alerts out for them did not say so (its cut is seen by the
    // alert past the limit or the bytes), and a list held fewer alerts than asked.
    async function holdKept(
      kept: Kept[],
      view: (held: HeldAlert, streamId: string) => T,
      ahead: ReadAhead,
    ): Promise<void> {
      const held = await withTexts(kept, op, ahead);
      for (const { fields, held: alert } of held) found.push(view(alert!, fields.streamId));
      settled += held.length;
      keptBytes -= bytesOf(kept) - bytesOf(held);
      readAhead.leftOut(kept.length - held.length);
    }

    // Whether the range holds an entry older than those read: one entry's id, no text.
    async function unreadLeft(): Promise<boolean> {
      const [rest] = await send([['XREVRANGE', stream, from, request.start, 'COUNT', '1']], op);
      return (rest as unknown[]).length > 0;
    }

    for (let scanned = 0; !done && scanned <= options.maxEntries * 2;) {
      const count = sizer.next();
      const endTurn = await turns.take();
      const page = await readPage(count).finally(endTurn);
      scanned += page.read;
      await settle(page.kept, readAhead.at([], 0));
      readAhead.clear();
      done ||= page.end;
    }
    // Not done: ended by its bound on entries read, with more of the range unread. Neither stop was
    // said before: a list answered `truncated: false` and a replay sent no `event: truncated`, short
    // of older alerts, and the client took the answer for whole. A full last page may have ended
    // the range all the same (only a short one shows it): a list of every alert said it was cut.
    return { found, cut: full || (!done && (await unreadLeft())) };
  };
}
