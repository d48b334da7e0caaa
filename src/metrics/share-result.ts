import { performance } from 'node:perf_hooks';

export interface ShareOptions {
  /** How long a finished result is handed out again, in ms; 0: only to callers that came while it ran. */
  reuseMs: number;
  /** Clock in ms (tests move it). */
  now?: () => number;
}

/**
 * Shares the work of `produce` among its callers: those that call while a run is under way get
 * that run's promise, and those that call within `reuseMs` after it finished get its result, so N
 * readers at once cost one run. A failed run is not kept: the next caller starts a new one.
 */
export function shareResult<T>(produce: () => Promise<T>, options: ShareOptions): () => Promise<T> {
  const now = options.now ?? (() => performance.now());
  let running: Promise<T> | undefined;
  let kept: { value: T; at: number } | undefined;
  return () => {
    if (running) return running;
    if (kept && now() - kept.at < options.reuseMs) return Promise.resolve(kept.value);
    // Not held past its use: a stale result is dropped before the next run starts.
    kept = undefined;
    const run = produce().then(
      (value) => {
        running = undefined;
        if (options.reuseMs > 0) kept = { value, at: now() };
        return value;
      },
      (error: unknown) => {
        running = undefined;
        throw error;
      },
    );
    running = run;
    return run;
  };
}
