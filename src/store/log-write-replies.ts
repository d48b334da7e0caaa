import type { Logger } from 'pino';
import { countedLines } from '../logging/counted-lines.js';
import type { StoreMetrics } from './store-metrics.js';
import type { WriteReply } from './redis-write-batch.js';

/** At most one `store_full_shed` line per this many milliseconds (the first shed at once). */
export const SHED_LOG_EVERY_MS = 10_000;

/**
 * Counts and logs what a write script did besides writing: duplicates it dropped, stored alerts it
 * shed for room. `flush` logs the sheds not in a line yet (the store closes).
 */
export function logWriteReplies(
  metrics: Pick<StoreMetrics, 'shed' | 'duplicatesDropped'>,
  logger: Logger,
): { wrote: (reply: WriteReply) => void; flush: () => void } {
  // Far over maxmemory every write sheds: lines with the count since the last (the metric counts
  // each), not hundreds of lines a second.
  const shedLines = countedLines<undefined>(SHED_LOG_EVERY_MS, (count) =>
    logger.warn(
      { event: 'store_full_shed', count },
      'Redis is at maxmemory: dropped the oldest stored alerts to make room for new ones',
    ),
  );
  return {
    wrote([duplicates, shed]) {
      metrics.duplicatesDropped(duplicates.length);
      if (shed === 0) return;
      metrics.shed(shed);
      shedLines.add(shed, undefined);
    },
    flush: () => shedLines.flush(),
  };
}
