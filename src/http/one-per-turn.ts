/**
 * Runs queued jobs one per event-loop turn, in arrival order. A burst of large alerts (each tens of
 * milliseconds of parsing, validation and logging) then cannot hold the loop for seconds: between
 * two alerts the loop's poll phase runs, so /healthz, /readyz and /metrics are answered.
 */
export interface TurnTaker {
  /** Resolves when it is the caller's turn; do the work synchronously right after. */
  next(): Promise<void>;
  /** Callers waiting for a turn. */
  waiting(): number;
}

export function createTurnTaker(): TurnTaker {
  const queue: Array<() => void> = [];
  let scheduled = false;
  // An immediate queued while immediates run waits for the next loop turn (Node's documented order).
  const runOne = () => {
    scheduled = false;
    queue.shift()?.();
    if (queue.length > 0) {
      scheduled = true;
      setImmediate(runOne);
    }
  };
  return {
    next() {
      return new Promise<void>((resolve) => {
        queue.push(resolve);
        if (!scheduled) {
          scheduled = true;
          setImmediate(runOne);
        }
      });
    },
    waiting: () => queue.length,
  };
}
