/**
 * Ingest answers that wait for their alerts' write, so a `202` means every replica can read the
 * alert: a replica killed right after answering (SIGKILL, an OOM kill) took none with it, and a
 * client that follows `Location` through the Service to another replica finds it. Alerts are
 * numbered as they are added and written in that order; an answer waits for the alerts numbered
 * before it. While the store fails or lags (a hung Redis; through Sentinel, an online replica that
 * does not confirm in time) answers do not wait: the alerts wait in the queue instead, and ingest
 * keeps its usual time.
 */
export interface AnswerWaits {
  /** Numbers an alert as it is added: its place in the order of writes. */
  next(): number;
  /** Resolves once the alerts numbered so far are written, or given up on; undefined: no wait. */
  wait(): Promise<void> | undefined;
  /** The alerts numbered up to `seq` are written (or were dropped, their answers gone): their answers go. */
  written(seq: number): void;
  /** Writes go through in time again: answers wait for them from now on. */
  healthy(): void;
  /** Writes fail or lag: every waiting answer goes now, and later ones do not wait until `healthy()`. */
  giveUp(): void;
  /**
   * The store is unreachable: the answers of the alerts numbered since the last `wait` go without
   * waiting (answers waiting already wait on, for their write, a failure or maxWaitMs).
   */
  skip(): void;
  /**
   * Whether the answer of the alert numbered `seq` waits for its write, or will once its turn is
   * in: not given yet, and not let go without it. Such an alert must not be dropped unwritten.
   */
  waitsFor(seq: number): boolean;
}

export function createAnswerWaits(options: {
  /** An answer waits at most this long; past it the store counts as lagging (`giveUp`). */
  maxWaitMs: number;
}): AnswerWaits {
  let numbered = 0;
  let writtenThrough = 0;
  let lagging = false;
  // Every alert numbered up to here has had its answer asked for: it waits (in `waiting`), or went.
  let asked = 0;
  // Oldest first: each answer's alerts (numbered after `from`, through `mark`: those numbered when it
  // began to wait) and start, on the monotonic clock (a step back of the wall clock held answers for
  // the step, not maxWaitMs). A turn skipped after one leaves a gap: its alerts' answers went, and
  // the earlier ones still wait.
  const waiting: Array<{ from: number; mark: number; since: number; resolve: () => void }> = [];
  let timer: NodeJS.Timeout | undefined;

  function skip(): void {
    asked = numbered;
  }

  function giveUp(): void {
    lagging = true;
    skip();
    clearTimeout(timer);
    timer = undefined;
    for (const { resolve } of waiting.splice(0)) resolve();
  }

  // One timer for every waiting answer: it fires when the oldest has waited `maxWaitMs`.
  function arm(): void {
    if (timer || waiting.length === 0) return;
    const due = waiting[0]!.since + options.maxWaitMs - performance.now();
    timer = setTimeout(
      () => {
        timer = undefined;
        if (waiting.length > 0 && performance.now() - waiting[0]!.since >= options.maxWaitMs) giveUp();
        else arm();
      },
      Math.max(0, due),
    );
    timer.unref();
  }

  return {
    next: () => ++numbered,
    wait() {
      if (lagging || writtenThrough >= numbered) {
        skip();
        return undefined;
      }
      return new Promise<void>((resolve) => {
        waiting.push({ from: asked, mark: numbered, since: performance.now(), resolve });
        asked = numbered;
        arm();
      });
    },
    written(seq) {
      writtenThrough = Math.max(writtenThrough, seq);
      let done = 0;
      while (done < waiting.length && waiting[done]!.mark <= writtenThrough) done++;
      for (const { resolve } of waiting.splice(0, done)) resolve();
      if (waiting.length === 0) {
        clearTimeout(timer);
        timer = undefined;
      }
    },
    healthy() {
      lagging = false;
    },
    giveUp,
    skip,
    waitsFor(seq) {
      if (seq > asked) return !lagging;
      // Oldest first, as the queue asks: the first answer that waits for it is near the front.
      const answer = waiting.find((entry) => entry.mark >= seq);
      return answer !== undefined && seq > answer.from;
    },
  };
}
