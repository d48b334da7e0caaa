import type { KeptRuns } from './kept-runs.js';
import type { SharedRuns } from './shared-runs.js';

/** This replica's holds, in the shared store, on the runs it keeps while they may still change. */
export interface RunHolds {
  /** Takes the hold on a run just added, before it is first saved. */
  take(id: string): void;
  /** Renews the hold of every run that may still change, at most every third of the lease. */
  renew(): Promise<void>;
}

/** Holds on the runs kept in `kept`, each lasting `leaseMs` unless renewed. */
export function createRunHolds(kept: KeptRuns, shared: SharedRuns, leaseMs: number): RunHolds {
  const { unsettled, holds, lapsed, lose } = kept;
  // On the monotonic clock: after a step back of the wall clock, holds were not renewed until it
  // had caught up again, and lapsed in Redis (its own time) meanwhile.
  let heldAtMs: number | undefined;
  return {
    take(id) {
      // Held before it is first saved (one connection, in order): it never reads as orphaned.
      void shared.own(id, leaseMs).then(
        (held) => held && unsettled.has(id) && holds.confirm(id),
        () => undefined,
      );
    },
    // Renews the hold of every run that may still change (every third of the lease).
    async renew() {
      if (heldAtMs !== undefined && performance.now() - heldAtMs < leaseMs / 3) return;
      heldAtMs = performance.now();
      for (const id of unsettled.keys()) {
        if (lapsed(id)) continue;
        const held = await shared.own(id, leaseMs).catch(() => undefined);
        if (held === false) lose(id);
        // Confirmed only while it may still change: a reply after the run was done would leave it here.
        else if (held && unsettled.has(id)) holds.confirm(id);
      }
    },
  };
}
