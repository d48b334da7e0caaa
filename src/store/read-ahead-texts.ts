import { decodeEntryFields, type EntryFields } from './entry-fields.js';
import type { ReadAhead } from './redis-entry-reads.js';

/**
 * The texts a scan of the fields stream reads ahead of its kept entries. Where those reach its limit
 * or a byte cap their texts are read (redis-alert-scan.ts), and the ones not readable make room for
 * as many more, read at the next such point: past a run of them, with room for one more alert, that
 * was a round trip an entry, inside the scan's page turn. Once some were left out, a read that goes
 * to Redis also reads the texts of the page's next entries that may pass: as many as were left out
 * so far (past a run each read is about twice the last, and reads ahead no more than the run made
 * it read), and about `maxBytes` of their bytes at most: PAGE_BYTES, as a page holds, or the scan's
 * own byte bound when smaller (what a list was admitted for in the readers' budget). Redis sends
 * about `maxBytes` of their texts at most, measured as it reads them (redis-entry-reads.ts),
 * whatever another writer made their `bytes` say.
 */
export function createReadAhead(mayPass: (fields: EntryFields) => boolean, maxBytes: number) {
  const replies = new Map<string, unknown>();
  let leftOut = 0;

  // The page's entries from `from` on to read ahead: those without a text of their own (read from
  // the fields stream) that may pass and are not read yet.
  function next(entries: readonly unknown[], from: number): string[] {
    const streamIds: string[] = [];
    let bytes = 0;
    for (let at = from; at < entries.length && streamIds.length < leftOut; at++) {
      const fields = decodeEntryFields(entries[at]);
      if (fields.json !== undefined || replies.has(fields.streamId) || !mayPass(fields)) continue;
      // Another writer's `bytes` that is not a count counts none until its text is read
      // (entry-fields.ts): of a size unknown, it is read once the scan reaches it, never ahead.
      // Nor past it: that entry's own read would read ahead again while the texts past it were
      // still held (with 150 such entries, 11 MB held by a read-ahead bounded at 500 KB).
      if (fields.bytes === 0) break;
      if (bytes + fields.bytes > maxBytes) break;
      bytes += fields.bytes;
      streamIds.push(fields.streamId);
    }
    return streamIds;
  }

  return {
    /** For a read made at entry `from` of the page `entries` (none after it: []). */
    at: (entries: readonly unknown[], from: number): ReadAhead => ({
      replies,
      more: () => next(entries, from),
      maxBytes,
    }),
    /** Kept entries left out once their texts were read (not readable, or trimmed meanwhile). */
    leftOut(count: number): void {
      leftOut += count;
    },
    /** Drops what the page's reads did not take (the scan stopped before them). */
    clear: () => replies.clear(),
  };
}
