import type { UnreadableRunError } from '../store/unreadable-run-error.js';
import type { TriggerKind, TriggerRun } from './trigger-run.js';

/**
 * How long a run's slot and hold across replicas last unless renewed. Its replica renews them
 * every third of that (the slot while the run goes on, the hold until its verification ends), so
 * a replica that dies frees its slots, and its runs are answered as failed or taken over by
 * another replica, within this time, however long the run's commands may take.
 */
export const SLOT_LEASE_MS = 30_000;

/**
 * The longest a cancel request sent to another replica waits before the replica running the run
 * reads it: it renews the run's slot this often (or more often, with a shorter lease) and the
 * renewal returns the request.
 */
export const CANCEL_CHECK_MS = 1_000;

/** Runs read from the store, and the stored values skipped there as not runs. */
export interface StoredRuns {
  runs: TriggerRun[];
  /**
   * One per stored value that is not a run this version reads (another version's, or written by
   * hand), naming its run: skipped, so one such value hides no other run from a list or a sweep.
   */
  unreadable: UnreadableRunError[];
}

/**
 * Trigger state shared by every replica (the Redis store provides it): run snapshots any replica
 * can answer with, per-kind slots across replicas, and the lease that gives the canary to one.
 */
export interface SharedRuns {
  /** How long a run stays in the store after it was last saved (`STORE_RETENTION`). */
  readonly retentionMs: number;
  /** Takes a slot of `kind` for `leaseMs`; false when `max` runs of the kind are active anywhere. */
  claim(kind: TriggerKind, runId: string, max: number, leaseMs: number): Promise<boolean>;
  /**
   * Holds the run's slot for `leaseMs` from now (the run is still going), taking it again if it is
   * missing; resolves with the time a cancellation of the run was asked for (`requestCancel`), if one was.
   */
  renew(kind: TriggerKind, runId: string, leaseMs: number): Promise<string | undefined>;
  /**
   * Asks the replica running the run to cancel it: the request is kept for the store's retention,
   * read by that replica as it renews the run's slot. Resolves with the time of the first request.
   */
  requestCancel(runId: string, requestedAt: string): Promise<string>;
  release(kind: TriggerKind, runId: string): Promise<void>;
  /**
   * Holds the run for this replica for `leaseMs`: taken when no replica holds it, renewed by its
   * holder; false when another replica holds it (it took the run over). The replica that started
   * a run holds it until the run is settled, and the one that saves it settled (`save`,
   * `settleOrphan`) for the run's life; without its hold or its slot, a run saved unsettled is
   * orphaned (see `get` and `orphans`).
   */
  own(runId: string, leaseMs: number): Promise<boolean>;
  /**
   * Stores the run's current state (the replica running it calls this as it changes); false, with
   * nothing stored, when another replica holds the run (it took the run over, or took it over and
   * settled it: see `own`).
   */
  save(run: TriggerRun): Promise<boolean>;
  /**
   * A run as last saved. A run saved as queued or running whose slot and hold are gone (its
   * replica died or stopped before the run ended, and stopped renewing them) is answered as failed,
   * its expectations `not_run` as any failed run's; its error names the cancellation when one was
   * asked for (saved with the run, or stored by `requestCancel`), as its replica would have ended it.
   * Rejects with an UnreadableRunError when what is stored under its key is not a run.
   */
  get(id: string): Promise<TriggerRun | undefined>;
  /** Recent runs, newest first (orphaned ones failed, as `get` answers them). */
  list(): Promise<StoredRuns>;
  /**
   * Unsettled runs whose replica no longer holds them (it stopped), as saved: one still queued or
   * running is to be settled as failed (`settleOrphan`); one that succeeded and waits for alerts
   * may be taken over (`own`) and verified by another replica. One that is not a run this version
   * reads stays unsettled: a replica of the version that wrote it may settle it.
   */
  orphans(): Promise<StoredRuns>;
  /**
   * Saves an orphaned run that was still queued or running as `get` answers it (failed, its
   * expectations `not_run`, maybe cancelled). The run as saved for the one call, across replicas,
   * that did it: that replica counts the run's outcome. Undefined when the run or its cancel
   * request changed meanwhile, or it is held again; rejects with an UnreadableRunError when what
   * is stored is not a run. When `leftBehind` says the run as settled left something to remove (its
   * helm release, its pod), it is marked so in the same step, until `leftoversRemoved`.
   */
  settleOrphan(
    run: TriggerRun,
    leftBehind?: (settled: TriggerRun) => boolean,
  ): Promise<TriggerRun | undefined>;
  /**
   * Settled orphans marked as leaving something to remove (`settleOrphan`) that no replica is
   * removing (its `takeLeftovers` lapsed, or none took it: the replica that settled them stopped
   * first), as saved, oldest first. One that is not a run this version reads is skipped (reported).
   */
  leftovers(): Promise<StoredRuns>;
  /**
   * Holds the removal of the run's leftovers for this replica for `leaseMs`, renewed by its holder:
   * false when they were dealt with already (`leftoversRemoved`), or another replica removes them.
   */
  takeLeftovers(runId: string, leaseMs: number): Promise<boolean>;
  /**
   * Saves the run with its cleanup step (removed, or failed: tried once) and unmarks its leftovers,
   * once across replicas: false, nothing stored, when another replica holds their removal or
   * they were unmarked already. This replica then holds the run for its life (see `own`).
   */
  leftoversRemoved(run: TriggerRun): Promise<boolean>;
  /** True when this replica holds the canary lease for the next `ms`: taken when free, renewed by its holder. */
  leaseCanary(ms: number): Promise<boolean>;
}

type SharedRunsCall = {
  [Name in keyof SharedRuns]: SharedRuns[Name] extends (...args: never[]) => unknown ? Name : never;
}[keyof SharedRuns];

// Every call of SharedRuns, once: a call added to the interface and not here fails the type check.
const CALLS: Record<SharedRunsCall, true> = {
  claim: true,
  renew: true,
  requestCancel: true,
  release: true,
  own: true,
  save: true,
  get: true,
  list: true,
  orphans: true,
  settleOrphan: true,
  leftovers: true,
  takeLeftovers: true,
  leftoversRemoved: true,
  leaseCanary: true,
};

/**
 * The names of SharedRuns' calls: what wraps a store wraps these, whether the store is a plain
 * object or a class instance (whose calls are on its prototype, not its own keys).
 */
export const SHARED_RUNS_CALLS = Object.keys(CALLS) as SharedRunsCall[];
