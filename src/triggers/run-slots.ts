import { CANCEL_CHECK_MS, type SharedRuns } from './shared-runs.js';
import type { TriggerRun } from './trigger-run.js';

/** A run's slot across replicas (the per-kind limit), with the Redis store; nothing without it. */
export interface RunSlots {
  /** Takes a slot for the run; false when every one is taken. */
  claim(run: TriggerRun): Promise<boolean>;
  /** Renews the run's slot until it ends, reading cancel requests; returns the stop. */
  renewWhileRunning(run: TriggerRun): () => void;
  release(run: TriggerRun): Promise<void>;
}

/**
 * A slot across replicas, renewed while the run goes on (see SLOT_LEASE_MS), and as often as a
 * cancel request another replica stored must be read (CANCEL_CHECK_MS). With Redis unreachable the
 * local limit alone applies: triggers do not depend on the shared store.
 */
export function createRunSlots(options: {
  shared: SharedRuns | undefined;
  maxConcurrent: number;
  leaseMs: number;
  /** A cancel request another replica stored for a run that has not ended. */
  onCancelRequested(run: TriggerRun, requestedAt: string): void;
}): RunSlots {
  const { shared, leaseMs } = options;
  return {
    async claim(run) {
      if (!shared) return true;
      return shared.claim(run.kind, run.id, options.maxConcurrent, leaseMs).catch(() => true);
    },
    renewWhileRunning(run) {
      if (!shared) return () => undefined;
      const timer = setInterval(
        () => {
          // Ended (by shutdown too): its slot is being given back, never renewed again.
          if (run.finishedAt !== undefined) return;
          void shared.renew(run.kind, run.id, leaseMs).then(
            (cancelRequestedAt) => {
              if (cancelRequestedAt !== undefined && run.finishedAt === undefined)
                options.onCancelRequested(run, cancelRequestedAt);
            },
            () => undefined,
          );
        },
        Math.max(1, Math.min(CANCEL_CHECK_MS, Math.floor(leaseMs / 3))),
      );
      timer.unref();
      return () => clearInterval(timer);
    },
    async release(run) {
      await shared?.release(run.kind, run.id).catch(() => undefined);
    },
  };
}
