import type { TriggerOutcome } from './trigger-context.js';
import type { TriggerRun } from './trigger-run.js';

/** How the error of a run cancelled on request begins (what its trigger said follows). */
export const CANCELLED_RUN_ERROR = 'cancelled on request';

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
  const switches = new Map<string, { own: AbortController; detach: () => void }>();
  return {
    signalFor(run) {
      const own = new AbortController();
      // Shutdown aborts it too; the listener goes with the run, so runs do not pile up on shutdown's signal.
      const abort = () => own.abort();
      shutdown.addEventListener('abort', abort, { once: true });
      if (shutdown.aborted) own.abort();
      switches.set(run.id, { own, detach: () => shutdown.removeEventListener('abort', abort) });
      return own.signal;
    },
    cancel(run, requestedAt) {
      run.cancelRequestedAt ??= requestedAt;
      switches.get(run.id)?.own.abort();
    },
    forget(run) {
      switches.get(run.id)?.detach();
      switches.delete(run.id);
    },
  };
}

/**
 * How a run ends once its cancellation was asked for: failed, whatever its trigger returned (a
 * step that finished meanwhile proves nothing the user still wants), naming the cancellation and
 * then what the trigger said (a release the uninstall could not remove, say).
 */
export function cancelledOutcome(outcome: TriggerOutcome): { ok: false; error: string } {
  return { ok: false, error: outcome.ok ? CANCELLED_RUN_ERROR : `${CANCELLED_RUN_ERROR}: ${outcome.error}` };
}
