import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Milliseconds of work before the loop is handed back to other requests (probes, ingest). */
export const TURN_BUDGET_MS = 2;

/**
 * Times a piece of work that runs across event-loop turns: a long read (a store's list, an export,
 * a replay) does a couple of milliseconds of it, then lets the loop serve everything else first.
 */
export interface TurnClock {
  /** True once this turn has used its budget. */
  spent(): boolean;
  /** Hands the loop back; resolves in a later turn, whose budget starts then. */
  next(): Promise<void>;
  /** Starts a new budget (after waiting on something else, such as a client's reading). */
  restart(): void;
}

export function startTurnClock(budgetMs: number = TURN_BUDGET_MS): TurnClock {
  let startedAt = performance.now();
  return {
    spent: () => performance.now() - startedAt > budgetMs,
    async next() {
      await nextTurn();
      startedAt = performance.now();
    },
    restart() {
      startedAt = performance.now();
    },
  };
}
