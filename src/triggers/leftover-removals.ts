import type { SharedRuns } from './shared-runs.js';
import type { TriggerRun } from './trigger-run.js';

/**
 * The removal of what a settled orphan left (its helm release, its pod), once across replicas: the
 * shared store marks the orphan as it is settled, the replica removing its leftovers holds a lease
 * on that, and the removal, once recorded, unmarks it. A replica that dies or stops before it
 * recorded one leaves the orphan marked, and a later sweep of any replica removes them once its
 * lease lapsed (adopt-orphans.ts). Without a shared store, nothing is marked: all of it is a no-op.
 */
export interface LeftoverRemovals {
  /**
   * Takes the removal of `run`'s leftovers for this replica: false when they were dealt with or
   * another replica removes them; undefined when the store could not say (an outage, a refusal:
   * tried again at a later sweep).
   */
  take(run: TriggerRun): Promise<boolean | undefined>;
  /** Renews the lease on the removal while it goes on (helm's own wait may outlast it); returns the stop. */
  holdWhileRemoving(run: TriggerRun): () => void;
  /** Records the removal, tried once (its step on `run`): never tried again by any replica. */
  record(run: TriggerRun): Promise<void>;
}

/** Removals of leftovers leased for `leaseMs`, renewed every third of it. */
export function createLeftoverRemovals(shared: SharedRuns | undefined, leaseMs: number): LeftoverRemovals {
  return {
    async take(run) {
      if (!shared) return true;
      return shared.takeLeftovers(run.id, leaseMs).catch(() => undefined);
    },
    holdWhileRemoving(run) {
      if (!shared) return () => undefined;
      // A failed renewal is left to the lease: lapsed, another replica removes them again (helm's
      // uninstall ignores a release gone, the pod's delete one whose label is not the run's).
      const renew = () => void shared.takeLeftovers(run.id, leaseMs).catch(() => undefined);
      const timer = setInterval(renew, Math.max(1, Math.floor(leaseMs / 3)));
      timer.unref();
      return () => clearInterval(timer);
    },
    async record(run) {
      // Not recorded (an outage, or the lease lapsed and another replica took the removal): the
      // orphan stays marked, and the one that holds its removal, or a later sweep, removes them.
      await shared?.leftoversRemoved(run).catch(() => false);
    },
  };
}
