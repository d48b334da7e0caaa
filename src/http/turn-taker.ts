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
 * A new turn of fewer than GATHER_BELOW jobs first waits one loop iteration, whose poll phase reads
 * the alerts that arrived meanwhile, so that they share it, unless a recent wait gathered nothing
 * (see GATHER_BACKOFF_TURNS).
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
/**
 * A new turn with fewer jobs than this waits one loop iteration for more before it starts.
 *
 * With a connection per alert (Falco 0.34) and many senders at once (a cluster's sensors), each
 * loop iteration read about one alert: every turn held one, paid the turn's own costs (a log
 * write, the timing, an immediate) and ran its parse, validation and store code cold, after the
 * system calls of its connection. Waiting one iteration lets the next poll phase read the alerts
 * that arrived meanwhile: with 32 such senders, two per turn instead of one, 15 % less CPU per alert
 * and 18 % more alerts/s (closed loop, alternating runs; BENCHMARKS.md, session 24). A single
 * sender that waits for each answer (one Falco, one connection at a time) brings nothing meanwhile.
 */
export const GATHER_BELOW = 4;
/**
 * After a wait that gathered nothing, this many new turns start at once (turns that continue the
 * jobs of one that used its budget do not count). A lone sender then waits on one turn in nine, for
 * one iteration of an otherwise idle loop: its CPU per alert measured the same as without waiting
 * (2.7 % more when every small turn waited, near this VM's noise).
 */
export const GATHER_BACKOFF_TURNS = 8;

export function createTurnTaker(
  budgetMs: number = DEFAULT_TURN_BUDGET_MS,
  lines?: LineGroup,
  stored?: () => Promise<void> | undefined,
): TurnTaker {
  const queue: Array<() => void> = [];
  let answers: Array<(writeError?: unknown) => void> = [];
  let scheduled = false;
  let inTurn = false;
  // New turns left to start without waiting (after a wait that gathered nothing).
  let backoff = 0;
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
  // An immediate queued while immediates run waits for the next loop iteration (Node's documented order).
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
      // Jobs left by a turn that used its budget have waited already: their turn starts at once.
      // Scheduled before the commit, so that an answer that throws cannot strand them.
      if (queue.length > 0 && !scheduled) {
        scheduled = true;
        setImmediate(runTurn);
      }
      commit();
    }
  };
  // A new turn. `waitedWith` is the number of jobs it had when it began to wait (see GATHER_BELOW).
  const startTurn = (waitedWith?: number) => {
    if (waitedWith !== undefined) {
      if (queue.length === waitedWith) backoff = GATHER_BACKOFF_TURNS;
    } else if (backoff > 0) backoff--;
    else if (queue.length < GATHER_BELOW) {
      setImmediate(startTurn, queue.length);
      return;
    }
    runTurn();
  };
  return {
    run(job) {
      queue.push(job);
      if (!scheduled) {
        scheduled = true;
        setImmediate(startTurn);
      }
    },
    afterCommit(answer) {
      if (inTurn) answers.push(answer);
      else answer();
    },
    waiting: () => queue.length,
  };
}
