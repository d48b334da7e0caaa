import { performance } from 'node:perf_hooks';

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

/**
 * Hands the loop's turns to paced work one piece at a time. Each clock used to wait for a turn of
 * its own (setImmediate): N reads running at once then took N budgets in every turn, and ingest,
 * probes and /metrics waited N x 2 ms each turn (16 readers, as many as the default
 * QUERY_MAX_INFLIGHT_BYTES admits, held the loop 32 ms a turn). Now a turn resumes one waiting piece
 * of work, the longest waiting, and it goes to the back of the line when it waits again: at most one
 * budget of paced work per turn, and every piece gets its turns in rotation.
 */
function createTurnLine(): { wait(): Promise<void> } {
  const waiting: Array<() => void> = [];
  let scheduled = false;
  const grant = () => {
    const resume = waiting.shift();
    // An immediate queued while immediates run comes in the next loop turn (Node's documented order).
    scheduled = waiting.length > 0;
    if (scheduled) setImmediate(grant);
    resume?.();
  };
  return {
    wait: () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (!scheduled) {
          scheduled = true;
          setImmediate(grant);
        }
      }),
  };
}

const line = createTurnLine();

export function startTurnClock(budgetMs: number = TURN_BUDGET_MS): TurnClock {
  let startedAt = performance.now();
  return {
    spent: () => performance.now() - startedAt > budgetMs,
    async next() {
      await line.wait();
      startedAt = performance.now();
    },
    restart() {
      startedAt = performance.now();
    },
  };
}
