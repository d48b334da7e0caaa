import { createKeptRuns } from './kept-runs.js';
import { createRunHolds } from './run-holds.js';
import { createRunPublisher } from './run-publisher.js';
import { isSettled } from './run-state.js';
import { sharedFailure, type SharedFailure } from './shared-store-failures.js';
import { SLOT_LEASE_MS, type SharedRuns } from './shared-runs.js';
import type { TriggerRun } from './trigger-run.js';

/** A run read by id: `run` undefined when no replica has it; `failure` when the shared store could not tell. */
export type RunLookup = { run: TriggerRun | undefined; failure?: undefined } | { failure: SharedFailure };

/** Recent runs; `partial` when the shared store failed, so only this replica's own are listed. */
export interface RunList {
  runs: TriggerRun[];
  partial?: SharedFailure;
  /** How many stored runs were left out as not runs this version reads (SharedRuns.list). */
  unreadable?: number;
}

/**
 * Recent runs, newest first, at most `maxRuns` (the oldest settled ones are dropped; the service
 * starts no run while `maxRuns` are not settled).
 */
export interface RunRegistry {
  /** A run this replica started or took over: with `shared`, held and published until settled. */
  add(run: TriggerRun): void;
  /** True when this replica keeps the run (it started it or took it over). */
  has(id: string): boolean;
  get(id: string): Promise<RunLookup>;
  list(): Promise<RunList>;
  /** Runs kept here that are not settled: running, or waiting for their alerts. */
  verifying(): number;
  /** Publishes `run`'s state now (before its slot is given back: see SharedRuns.get). */
  save(run: TriggerRun): Promise<void>;
  /**
   * Counts a change of a run kept here (its end, an expectation resolved): `record` is called once,
   * at once without `shared`; with it, once a save of the run as it is now goes through, never when
   * another replica holds the run by then (it took the run over or settled it while this one was cut
   * off from the store past its lease, and counts it there).
   */
  count(run: TriggerRun, record: () => void): void;
  /** Stops publishing run state (shutdown). */
  stop(): Promise<void>;
}

export interface RunRegistryOptions {
  /** Called once per outage of the shared store. */
  onError?: (error: unknown) => void;
  /**
   * Another replica took over this run (this one could not renew its hold in time), or may have (no
   * hold confirmed for the store's retention): stop verifying it.
   */
  onLost?: (run: TriggerRun) => void;
  /** How long a hold lasts unless renewed (renewed every third of it). */
  leaseMs?: number;
}

/**
 * The runs this process started, in memory; with `shared`, also published to the other replicas
 * (snapshots while they change: run-publisher.ts) and held until settled (run-holds.ts), and runs
 * of other replicas are answered from there.
 */
export function createRunRegistry(
  maxRuns: number,
  shared?: SharedRuns,
  options: RunRegistryOptions = {},
): RunRegistry {
  const { onError, onLost, leaseMs = SLOT_LEASE_MS } = options;
  const kept = createKeptRuns(shared?.retentionMs ?? Infinity, onLost);
  const { runs, unsettled, counts, drop, lose, lapsed, due, saved } = kept;
  const holding = shared ? createRunHolds(kept, shared, leaseMs) : undefined;
  const publisher = createRunPublisher(kept, shared, { onError, renewHolds: () => holding?.renew() });

  const local = () => [...runs.values()].reverse();
  return {
    add(run) {
      runs.set(run.id, run);
      for (const [id, old] of runs) {
        if (runs.size <= maxRuns) break;
        // A run still verifying stays: dropped, it would be neither published nor held any more.
        if (!isSettled(old)) continue;
        // One whose end is not saved yet (the store unreachable) stays too, up to twice the bound:
        // past that, the oldest go unsaved and uncounted, so a long outage cannot pile them up.
        if (unsettled.has(id) && runs.size <= 2 * maxRuns) continue;
        drop(id);
      }
      if (!holding) return;
      unsettled.set(run.id, '');
      holding.take(run.id);
      publisher.schedule();
    },
    has: (id) => runs.has(id),
    async save(run) {
      if (!shared || !runs.has(run.id) || lapsed(run.id)) return;
      const json = JSON.stringify(run);
      const final = isSettled(run);
      const sending = due(run.id);
      // Sent after any save of an older state still in flight (one connection, in order).
      await shared.save(run).then(
        (through) => {
          if (!through) return lose(run.id);
          // As publish() does: a run saved settled is done; otherwise its next change is published.
          if (unsettled.has(run.id)) saved(run.id, sending, final, json);
        },
        () => undefined,
      );
    },
    count(run, record) {
      if (!shared) return record();
      if (!runs.has(run.id)) return;
      const waiting = counts.get(run.id) ?? new Set();
      counts.set(run.id, waiting.add(record));
    },
    // A run kept here is answered without the store. Any other is unknown, not missing, when the
    // store failed: answered missing, a run another replica started read as 404 during an outage.
    async get(id) {
      const mine = runs.get(id);
      if (mine || !shared) return { run: mine };
      return shared.get(id).then(
        (run) => ({ run }),
        (error: unknown) => ({ failure: sharedFailure(error) }),
      );
    },
    // With the store failing, this replica's own runs, saying so: listed as if complete, they hid
    // every other replica's runs (WRONGTYPE, NOPERM and outages alike) behind a 200. Stored runs
    // this version cannot read are left out, counted.
    async list() {
      if (!shared) return { runs: local() };
      const mine = new Map(local().map((run) => [run.id, run]));
      const read = await shared.list().then(
        ({ runs, unreadable }): { others: TriggerRun[]; partial?: SharedFailure; unreadable: number } => ({
          others: runs,
          unreadable: unreadable.length,
        }),
        (error: unknown) => ({ others: [], partial: sharedFailure(error), unreadable: 0 }),
      );
      const all = read.others.map((run) => mine.get(run.id) ?? run);
      for (const run of mine.values()) if (!all.some((other) => other.id === run.id)) all.push(run);
      all.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
      const { partial, unreadable } = read;
      return {
        runs: all.slice(0, maxRuns),
        ...(partial && { partial }),
        ...(unreadable > 0 && { unreadable }),
      };
    },
    verifying() {
      let count = 0;
      for (const run of runs.values()) if (!isSettled(run)) count++;
      return count;
    },
    stop: () => publisher.stop(),
  };
}
