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
 * A turn of fewer than GATHER_BELOW jobs first waits one loop iteration, whose poll phase reads the
 * alerts that arrived meanwhile, so that they share it (see createTurnTaker).
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
/** A turn with fewer jobs than this waits one loop iteration for more before it starts. */
export const GATHER_BELOW = 4;
/** After a wait that gathered nothing, this many turns start at once. */
export const GATHER_BACKOFF_TURNS = 8;

/**
 * Whether a turn about to start waits one loop iteration first, asked once as it is due and once
 * as the wait ends. With a connection per alert (Falco 0.34), each loop iteration read about one
 * alert: every turn held one, paid the turn's own costs (a log write, the timing, an immediate) and
 * ran its parse, validation and store code cold, after the system calls of its connection. Waiting
 * one iteration lets the next poll phase read the alerts that arrived meanwhile: two per turn, not
 * one, 15 % less CPU per alert and 18 % more alerts/s (32 senders, closed loop, alternating runs;
 * BENCHMARKS.md, session 24). A sender that waits for each answer alone (one keep-alive connection)
 * brings nothing meanwhile, and paid 3 % more when every small turn waited: a wait that gathers
 * nothing turns waiting off for the next GATHER_BACKOFF_TURNS turns (no difference left), so a quiet
 * receiver waits on one alert in nine, for one iteration of an idle loop.
 */
function createGathering(): { waits(queued: number): boolean } {
  let waitedWith: number | undefined;
  let backoff = 0;
  return {
    waits(queued) {
      if (waitedWith !== undefined) {
        if (queued === waitedWith) backoff = GATHER_BACKOFF_TURNS;
        waitedWith = undefined;
        return false;
      }
      if (backoff > 0) {
        backoff--;
        return false;
      }
      if (queued >= GATHER_BELOW) return false;
      waitedWith = queued;
      return true;
    },
  };
}

export function createTurnTaker(
  budgetMs: number = DEFAULT_TURN_BUDGET_MS,
  lines?: LineGroup,
  stored?: () => Promise<void> | undefined,
): TurnTaker {
  const queue: Array<() => void> = [];
  let answers: Array<(writeError?: unknown) => void> = [];
  let scheduled = false;
  let inTurn = false;
  const gathering = createGathering();
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
  // A new turn, unless it waits an iteration for more jobs first. A turn that continues the jobs
  // left by one that used its budget starts at once: they have waited already.
  const startTurn = () => {
    if (gathering.waits(queue.length)) setImmediate(startTurn);
    else runTurn();
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
