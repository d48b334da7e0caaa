import type { Logger } from 'pino';
import type { StoreMetrics } from './store-metrics.js';

/** At most one `store_read_gap` line per this many milliseconds (the first gap at once). */
export const GAP_LOG_EVERY_MS = 10_000;

/** Where a read found alerts removed before it took them (stream entry ids). */
export interface ReadGapIds {
  /** The last entry read before. */
  afterId: string;
  /** The first entry the read returned, if any. */
  nextId?: string;
  /** The newest entry removed from the stream. */
  removedId: string;
}

/** Counts and logs the gaps the live reader found. */
export interface ReadGaps {
  found(ids: ReadGapIds): void;
  /** Logs the gaps not in a line yet (the reader stops). */
  stop(): void;
}

export function logReadGaps(metrics: Pick<StoreMetrics, 'readGap'>, logger: Logger): ReadGaps {
  // Gaps not yet in a log line (the newest one's ids), and the timer that ends the quiet period.
  let unlogged = 0;
  let newest: ReadGapIds | undefined;
  let quiet: NodeJS.Timeout | undefined;
  const log = () => {
    if (unlogged === 0) return;
    logger.warn(
      { event: 'store_read_gap', count: unlogged, ...newest },
      'alerts were removed from the shared store before this replica read them: its live stream clients were sent event: truncated',
    );
    unlogged = 0;
  };
  // A reader that keeps falling behind finds a gap a read: the first is logged at once, then a
  // line per GAP_LOG_EVERY_MS with the count since the last, and what is left when the gaps stop,
  // so the lines add up to the metric.
  const endQuiet = () => {
    quiet = undefined;
    if (unlogged === 0) return;
    log();
    quiet = setTimeout(endQuiet, GAP_LOG_EVERY_MS).unref();
  };
  return {
    found(ids) {
      metrics.readGap();
      unlogged += 1;
      newest = ids;
      if (quiet) return;
      log();
      quiet = setTimeout(endQuiet, GAP_LOG_EVERY_MS).unref();
    },
    stop() {
      clearTimeout(quiet);
      quiet = undefined;
      log();
    },
  };
}
