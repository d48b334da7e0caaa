import type { TriggerKind, TriggerRun } from './trigger-run.js';

/**
 * Trigger state shared by every replica (the Redis store provides it): run snapshots any replica
 * can answer with, per-kind slots across replicas, and the lease that gives the canary to one.
 */
export interface SharedRuns {
  /** Takes a slot of `kind` for `leaseMs`; false when `max` runs of the kind are active anywhere. */
  claim(kind: TriggerKind, runId: string, max: number, leaseMs: number): Promise<boolean>;
  release(kind: TriggerKind, runId: string): Promise<void>;
  /** Stores the run's current state (the replica running it calls this as it changes). */
  save(run: TriggerRun): Promise<void>;
  get(id: string): Promise<TriggerRun | undefined>;
  /** Recent runs, newest first. */
  list(): Promise<TriggerRun[]>;
  /** True when this replica holds the canary lease for the next `ms` (SET NX PX). */
  leaseCanary(ms: number): Promise<boolean>;
}
