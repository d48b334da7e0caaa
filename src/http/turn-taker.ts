import { performance } from 'node:perf_hooks';

/**
 * Runs queued jobs in arrival order, in later event-loop turns, and hands the loop back once a turn
 * has used its time budget. A burst of large alerts (each milliseconds of parsing, validation and
 * logging) then cannot hold the loop for seconds: between two such alerts the loop's poll phase
 * runs, so /healthz, /readyz and /metrics are answered. Small alerts share a turn, which saves a
 * loop iteration (and its epoll_wait) per alert.
 */
export interface TurnTaker {
  /** Queues `job`; it runs synchronously in a later turn, after every job queued before it. It must not throw. */
  run(job: () => void): void;
  /** Jobs waiting for a turn. */
  waiting(): number;
}

/** Jobs keep starting in the same turn until this many milliseconds have gone by in it. */
export const DEFAULT_TURN_BUDGET_MS = 1;

export function createTurnTaker(budgetMs: number = DEFAULT_TURN_BUDGET_MS): TurnTaker {
  const queue: Array<() => void> = [];
  let scheduled = false;
  // An immediate queued while immediates run waits for the next loop turn (Node's documented order).
  const runTurn = () => {
    scheduled = false;
    const started = performance.now();
    try {
      do queue.shift()?.();
      while (queue.length > 0 && performance.now() - started < budgetMs);
    } finally {
      if (queue.length > 0) {
        scheduled = true;
        setImmediate(runTurn);
      }
    }
  };
  return {
    run(job) {
      queue.push(job);
      if (!scheduled) {
        scheduled = true;
        setImmediate(runTurn);
      }
    },
    waiting: () => queue.length,
  };
}
