import type { TriggerOutcome } from './trigger-context.js';
import type { TriggerRun } from './trigger-run.js';

/** How the error of a run cancelled on request begins (what its trigger said follows). */
export const CANCELLED_RUN_ERROR = 'cancelled on request';

/** How the error of a run the receiver's shutdown cut into begins (what its trigger said follows). */
export const STOPPED_RUN_ERROR = 'the receiver stopped before the run ended';

/** The cancel switches of the runs this replica is running, each besides the shutdown's. */
export interface RunCancellation {
  /** The signal of `run`'s cancellable commands: aborted by its cancellation or by shutdown. */
  signalFor(run: TriggerRun): AbortSignal;
  /** Stops `run`'s cancellable commands; the first request's time is kept. */
  cancel(run: TriggerRun, requestedAt: string): void;
  /** The run ended: its switch is no longer needed. */
  forget(run: TriggerRun): void;
}

export function createRunCancellation(shutdown: AbortSignal): RunCancellation {
  const switches = new Map<string, AbortController>();
  return {
    signalFor(run) {
      const own = new AbortController();
      switches.set(run.id, own);
      // Shutdown aborts it too (as runKubeStep joins its deadline and the caller's signal).
      return AbortSignal.any([shutdown, own.signal]);
    },
    cancel(run, requestedAt) {
      run.cancelRequestedAt ??= requestedAt;
      switches.get(run.id)?.abort();
    },
    forget(run) {
      switches.delete(run.id);
    },
  };
}

/**
 * How an ended run is counted in `falco_trigger_runs_total`: `cancelled` once its cancellation was
 * asked for (it reads failed), whoever ended it (its replica, or the one that settled it when that
 * replica stopped mid-cleanup); else as it ended.
 */
export function countedOutcome(run: TriggerRun): 'succeeded' | 'failed' | 'cancelled' {
  if (run.cancelRequestedAt !== undefined) return 'cancelled';
  return run.status === 'succeeded' ? 'succeeded' : 'failed';
}

/**
 * How a run ends once its cancellation was asked for: failed, whatever its trigger returned (a
 * step that finished meanwhile proves nothing the user still wants), naming the cancellation and
 * then what the trigger said (a release the uninstall could not remove, say).
 */
export function cancelledOutcome(outcome: TriggerOutcome): { ok: false; error: string } {
  return failedSaying(CANCELLED_RUN_ERROR, outcome);
}

/** Failed, its error beginning with `why`, then what the trigger said, if it said anything. */
function failedSaying(why: string, outcome: TriggerOutcome): { ok: false; error: string } {
  return { ok: false, error: outcome.ok ? why : `${why}: ${outcome.error}` };
}

/**
 * How a run ends whose step shutdown cancelled (no cancellation asked for): failed, naming the
 * shutdown and then what the trigger said, which alone (`helm was cancelled`) read as a cancel
 * nobody asked for. Counted failed, as a run whose replica stopped is.
 */
export function stoppedOutcome(outcome: TriggerOutcome): { ok: false; error: string } {
  return failedSaying(STOPPED_RUN_ERROR, outcome);
}
