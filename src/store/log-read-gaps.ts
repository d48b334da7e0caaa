import type { Logger } from 'pino';
import { countedLines } from '../logging/counted-lines.js';
import type { StoreMetrics } from './store-metrics.js';

/** At most one `store_read_gap` line per this many milliseconds (the first gap at once). */
export const GAP_LOG_EVERY_MS = 10_000;

/** Where a read found alerts removed before it took them (stream entry ids). */
export interface ReadGapIds {
  /** The last entry read before. */
  afterId: string;
  /** The first entry the read returned, if any. */
  nextId?: string;
  /** The newest entry removed from the stream ('' when Redis did not say). */
  removedId: string;
  /** True when the stream was made again (fewer entries ever added than at the read before). */
  remade?: boolean;
  /**
   * The stream id of an alert this replica wrote that Redis lost without a trim (restarted from a
   * snapshot older than it), which the reader never read.
   */
  lostWriteId?: string;
}

/** Counts and logs the gaps the live reader found. */
export interface ReadGaps {
  found(ids: ReadGapIds): void;
  /** Logs the gaps not in a line yet (the reader stops). */
  stop(): void;
}

export function logReadGaps(metrics: Pick<StoreMetrics, 'readGap'>, logger: Logger): ReadGaps {
  // A reader that keeps falling behind finds a gap a read: lines with the count since the last,
  // the newest gap's ids in each.
  const lines = countedLines<ReadGapIds>(GAP_LOG_EVERY_MS, (count, newest) =>
    logger.warn(
      { event: 'store_read_gap', count, ...newest },
      'alerts were removed from the shared store before this replica read them: its live stream clients were sent event: truncated',
    ),
  );
  return {
    found(ids) {
      metrics.readGap();
      lines.add(1, ids);
    },
    stop: () => lines.flush(),
  };
}
