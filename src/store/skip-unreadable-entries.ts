import type { Logger } from 'pino';
import { countedLines } from '../logging/counted-lines.js';
import type { StoreMetrics } from './store-metrics.js';

/** At most one `store_entry_unreadable` line per this many milliseconds (the first at once). */
export const UNREADABLE_LOG_EVERY_MS = 60_000;

/** Decodes stream entries, skipping those whose stored texts are not what reads take (see decode). */
export interface UnreadableEntries {
  /**
   * What `decode` makes of the entry at `streamId`, or `skipped` when its tags are not JSON or its
   * alert's text is not an alert ingest accepts (stored-json.ts): counted and logged, by its stream
   * id only.
   */
  decode<T, S>(streamId: string, decode: () => T, skipped: S): T | S;
  /** Logs the skips not in a line yet (the store closes). */
  stop(): void;
}

/**
 * One entry that is not readable (written by hand, by another version, a corrupted write) is skipped by
 * every read, live or not: thrown, it failed each list and replay that passed over it, for everyone,
 * until STORE_RETENTION removed it; an alert text copied into answers as it was made them invalid
 * JSON. One per process: the reads and the live reader log together.
 */
export function skipUnreadableEntries(
  metrics: Pick<StoreMetrics, 'unreadableEntry'>,
  logger: Logger,
): UnreadableEntries {
  // The stream id only: the text is anyone's with write access to Redis.
  const lines = countedLines<string>(UNREADABLE_LOG_EVERY_MS, (count, streamId) =>
    logger.warn(
      { event: 'store_entry_unreadable', count, streamId },
      'alert entries in the shared store whose tags are not JSON, or whose text is not an alert ingest accepts, were skipped by reads (the newest read is named)',
    ),
  );
  return {
    decode(streamId, decode, skipped) {
      try {
        return decode();
      } catch (error) {
        // The decoders read stored text with stored-json.ts, which alone throws a SyntaxError.
        if (!(error instanceof SyntaxError)) throw error;
        metrics.unreadableEntry();
        lines.add(1, streamId);
        return skipped;
      }
    },
    stop: () => lines.flush(),
  };
}
