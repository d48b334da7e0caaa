import type { TriggerKind, TriggerRun } from './trigger-run.js';

/**
 * Trigger state shared by every replica (the Redis store provides it): run snapshots any replica
 * can answer with, per-kind slots across replicas, and the lease that gives the canary to one.
 */
export interface SharedRuns {
  /** Takes a slot of `kind` for `leaseMs`; false when `max` runs of the kind are active anywhere. */
  claim(kind: TriggerKind, runId: string, max: number, leaseMs: number): Promise<boolean>;
  /** Holds the run's slot for `leaseMs` from now (the run is still going), taking it again if it is missing. */
  renew(kind: TriggerKind, runId: string, leaseMs: number): Promise<void>;
  release(kind: TriggerKind, runId: string): Promise<void>;
  /** Stores the run's current state (the replica running it calls this as it changes). */
  save(run: TriggerRun): Promise<void>;
  /**
   * A run as last saved. A run saved as queued or running whose slot is gone (its replica died or
   * stopped before the run ended, and stopped renewing the slot) is answered as failed, its
   * expectations `not_run` as any failed run's.
   */
  get(id: string): Promise<TriggerRun | undefined>;
  /** Recent runs, newest first (orphaned ones failed, as `get` answers them). */
  list(): Promise<TriggerRun[]>;
  /** True when this replica holds the canary lease for the next `ms`: taken when free, renewed by its holder. */
  leaseCanary(ms: number): Promise<boolean>;
}
