import { sharedFailure } from './shared-store-failures.js';
import { CANCEL_CHECK_MS, type SharedRuns } from './shared-runs.js';
import type { TriggerRun } from './trigger-run.js';

/**
 * What a claim got: `taken` (or no shared store), `busy` (every slot across replicas is taken),
 * `unshared` (the store is unavailable: the run may start, held to the local limit alone), `refused`
 * (Redis refused the claim: the run must not start).
 */
export type SlotClaim = 'taken' | 'busy' | 'unshared' | 'refused';

/** A run's slot across replicas (the per-kind limit), with the Redis store; nothing without it. */
export interface RunSlots {
  claim(run: TriggerRun): Promise<SlotClaim>;
  /** Renews the run's slot until it ends, reading cancel requests; returns the stop. */
  renewWhileRunning(run: TriggerRun): () => void;
  release(run: TriggerRun): Promise<void>;
}

/**
 * A slot across replicas, renewed while the run goes on (see SLOT_LEASE_MS), and as often as a
 * cancel request another replica stored must be read (CANCEL_CHECK_MS). A failed renewal or release
 * is left to the lease (reported by shared-store-failures.ts when Redis refused it).
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
      if (!shared) return 'taken';
      // Fail-open on an outage, which passes: triggers verify that Falco detects, and an outage of
      // Redis is when that matters most; the run still counts against this replica's
      // TRIGGER_MAX_CONCURRENT (taken before the claim), so at most replicas x that limit run at
      // once. Fail-closed on a refusal, which lasts until someone fixes Redis (a colliding key, an
      // ACL, Redis full): it used to start the run too, and the limit across replicas was gone
      // for good with nothing said.
      return shared.claim(run.kind, run.id, options.maxConcurrent, leaseMs).then(
        (taken) => (taken ? 'taken' : 'busy'),
        (error: unknown) => (sharedFailure(error) === 'unavailable' ? 'unshared' : 'refused'),
      );
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
