import { performance } from 'node:perf_hooks';
import type { LineGroup } from '../logging/line-group.js';

/**
 * Runs queued jobs in arrival order, in later event-loop turns, and hands the loop back once a turn
 * has used its time budget. A burst of large alerts (each milliseconds of parsing, validation and
 * logging) then cannot hold the loop for seconds: between two such alerts the loop's poll phase
 * runs, so /healthz, /readyz and /metrics are answered. Small alerts share a turn, which saves a
 * loop iteration (and its epoll_wait) per alert. With a line group, a turn is also a group commit:
 * the log lines its jobs wrote go out together when its jobs are done, and only then are the
 * answers queued with `afterCommit` given (no 2xx before its alert's line is written). With
 * `stored`, they are given once what it returns resolves too (a shared store has the turn's alerts).
 */
export interface TurnTaker {
  /** Queues `job`; it runs synchronously in a later turn, after every job queued before it. It must not throw. */
  run(job: () => void): void;
  /**
   * From a job: runs `answer` when the turn's lines are written (and `stored` resolved), with the
   * write's error if it failed. Outside a turn, at once. It must not throw.
   */
  afterCommit(answer: (writeError?: unknown) => void): void;
  /** Jobs waiting for a turn. */
  waiting(): number;
}

/** Jobs keep starting in the same turn until this many milliseconds have gone by in it. */
export const DEFAULT_TURN_BUDGET_MS = 1;

export function createTurnTaker(
  budgetMs: number = DEFAULT_TURN_BUDGET_MS,
  lines?: LineGroup,
  stored?: () => Promise<void> | undefined,
): TurnTaker {
  const queue: Array<() => void> = [];
  let answers: Array<(writeError?: unknown) => void> = [];
  let scheduled = false;
  let inTurn = false;
  // Gives each answer its turn's outcome.
  const answerAll = (due: Array<(writeError?: unknown) => void>, writeError: unknown) => {
    // An answer that throws breaks its contract, but must not leave the others unanswered.
    let thrown: { error: unknown } | undefined;
    for (const answer of due) {
      try {
        answer(writeError);
      } catch (error) {
        thrown ??= { error };
      }
    }
    if (thrown) throw thrown.error;
  };
  // Writes the turn's lines, then answers, once the store has the turn's alerts when it says to wait.
  const commit = () => {
    let writeError: unknown;
    try {
      lines?.commit();
    } catch (error) {
      writeError = error ?? new Error('log write failed');
    }
    const due = answers;
    answers = [];
    const storing = due.length > 0 && writeError === undefined ? stored?.() : undefined;
    if (storing) void storing.then(() => answerAll(due, undefined));
    else answerAll(due, writeError);
  };
  // An immediate queued while immediates run waits for the next loop turn (Node's documented order).
  const runTurn = () => {
    scheduled = false;
    const started = performance.now();
    inTurn = true;
    lines?.open();
    try {
      do queue.shift()?.();
      while (queue.length > 0 && performance.now() - started < budgetMs);
    } finally {
      inTurn = false;
      commit();
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
    afterCommit(answer) {
      if (inTurn) answers.push(answer);
      else answer();
    },
    waiting: () => queue.length,
  };
}
