import { PRIORITIES, type Priority } from '../../alerts/priority.js';

/** Alerts per interval and priority: `counts[p][i]` alerts of priority `p` received in interval `i`. */
export interface AlertTimeline {
  /** Start of the first interval, epoch milliseconds (a multiple of `stepMs`). */
  startMs: number;
  /** Length of one interval in milliseconds. */
  stepMs: number;
  /** One row per priority, most severe first, each as long as the number of intervals. */
  byPriority: { priority: Priority; counts: number[] }[];
}

/**
 * Counts alerts into intervals aligned to multiples of `stepMs`, so the page can put a live alert
 * into the right interval from its receipt time alone.
 */
export function createTimeline(sinceMs: number, nowMs: number, stepMs: number) {
  const startMs = Math.floor(sinceMs / stepMs) * stepMs;
  const intervals = Math.floor((nowMs - startMs) / stepMs) + 1;
  const rows = new Map<Priority, number[]>(PRIORITIES.map((p) => [p, new Array<number>(intervals).fill(0)]));
  return {
    /** Counts one alert received at `receivedAtMs` (inside the window). */
    add(receivedAtMs: number, priority: Priority): void {
      const index = Math.floor((receivedAtMs - startMs) / stepMs);
      const row = rows.get(priority);
      if (row && index >= 0 && index < intervals) row[index]! += 1;
    },
    result(): AlertTimeline {
      return {
        startMs,
        stepMs,
        byPriority: PRIORITIES.map((priority) => ({ priority, counts: rows.get(priority) ?? [] })),
      };
    },
  };
}
