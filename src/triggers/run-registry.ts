import { isSettled } from './run-state.js';
import { SLOT_LEASE_MS, type SharedRuns } from './shared-runs.js';
import type { TriggerRun } from './trigger-run.js';

/** Recent runs, newest first, at most `maxRuns` (the oldest settled ones are dropped). */
export interface RunRegistry {
  /** A run this replica started or took over: with `shared`, held and published until settled. */
  add(run: TriggerRun): void;
  /** True when this replica keeps the run (it started it or took it over). */
  has(id: string): boolean;
  get(id: string): Promise<TriggerRun | undefined>;
  list(): Promise<TriggerRun[]>;
  /** Publishes `run`'s state now (before its slot is given back: see SharedRuns.get). */
  save(run: TriggerRun): Promise<void>;
  /**
   * The trigger of a run kept here ended: `count` is called once, at once without `shared`; with
   * it, once that end is saved, never when another replica holds the run by then (it settled the
   * run while this one was cut off from the store past its lease, and counted it).
   */
  end(run: TriggerRun, count: () => void): void;
  /** Stops publishing run state (shutdown). */
  stop(): Promise<void>;
}

// How often this replica publishes the runs it owns while they change.
const SYNC_MS = 200;

export interface RunRegistryOptions {
  /** Called once per outage of the shared store. */
  onError?: (error: unknown) => void;
  /** Another replica took over this run (this one could not renew its hold in time): stop verifying it. */
  onLost?: (run: TriggerRun) => void;
  /** How long a hold lasts unless renewed (renewed every third of it). */
  leaseMs?: number;
}

/**
 * The runs this process started, in memory; with `shared`, also published to the other replicas
 * (snapshots while they change) and held until settled, and runs of other replicas are answered
 * from there.
 */
export function createRunRegistry(
  maxRuns: number,
  shared?: SharedRuns,
  options: RunRegistryOptions = {},
): RunRegistry {
  const { onError, onLost, leaseMs = SLOT_LEASE_MS } = options;
  const runs = new Map<string, TriggerRun>();
  // Runs whose state may still change, with the JSON last published.
  const unsettled = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let publishing = false;
  let failing = false;
  let heldAtMs = 0;
  // Runs whose trigger ended here, with what counts them once their end is saved.
  const ending = new Map<string, () => void>();

  // A run another replica holds now was taken over while this one could not reach Redis: it is theirs.
  function lose(id: string): void {
    const run = runs.get(id);
    unsettled.delete(id);
    ending.delete(id);
    runs.delete(id);
    if (run) onLost?.(run);
  }

  // A save of the run's end went through (`count` was waiting when it was sent): counted, once.
  function countEnd(id: string, count: (() => void) | undefined): void {
    if (count === undefined || ending.get(id) !== count) return;
    ending.delete(id);
    count();
  }

  // Renews the hold of every run that may still change (every third of the lease).
  async function renewHolds(): Promise<void> {
    if (!shared || Date.now() - heldAtMs < leaseMs / 3) return;
    heldAtMs = Date.now();
    for (const id of unsettled.keys()) if (!(await shared.own(id, leaseMs).catch(() => true))) lose(id);
  }

  async function publish(): Promise<void> {
    if (publishing) return;
    publishing = true;
    for (const [id, sent] of unsettled) {
      const run = runs.get(id);
      if (!run) {
        unsettled.delete(id);
        continue;
      }
      const json = JSON.stringify(run);
      if (json === sent) continue;
      // Settled as saved, not as the run is once the save returns: a run that settled while its
      // older state was being saved must be published again.
      const final = isSettled(run);
      const count = ending.get(id);
      await shared?.save(run).then(
        (saved) => {
          failing = false;
          if (!saved) return lose(id);
          countEnd(id, count);
          return final ? unsettled.delete(id) : unsettled.set(id, json);
        },
        (error: unknown) => {
          // Reported once per outage, not every SYNC_MS; the run is published when Redis is back.
          if (!failing) onError?.(error);
          failing = true;
        },
      );
    }
    publishing = false;
    if (unsettled.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  const local = () => [...runs.values()].reverse();
  return {
    add(run) {
      runs.set(run.id, run);
      for (const [id, old] of runs) {
        if (runs.size <= maxRuns) break;
        // A run still verifying, or whose end is not saved yet, stays: dropped, it would be neither
        // published nor held any more (nor counted).
        if (isSettled(old) && !unsettled.has(id)) runs.delete(id);
      }
      if (!shared) return;
      unsettled.set(run.id, '');
      // Held before it is first saved (one connection, in order): it never reads as orphaned.
      void shared.own(run.id, leaseMs).catch(() => undefined);
      void publish();
      timer ??= setInterval(() => {
        void publish();
        void renewHolds();
      }, SYNC_MS);
      timer.unref();
    },
    has: (id) => runs.has(id),
    async save(run) {
      if (!shared || !runs.has(run.id)) return;
      const json = JSON.stringify(run);
      const final = isSettled(run);
      const count = ending.get(run.id);
      // Sent after any save of an older state still in flight (one connection, in order).
      await shared.save(run).then(
        (saved) => {
          if (!saved) return lose(run.id);
          countEnd(run.id, count);
          if (!unsettled.has(run.id)) return;
          // As publish() does: a run saved settled is done; otherwise its next change is published.
          if (final) unsettled.delete(run.id);
          else unsettled.set(run.id, json);
        },
        () => undefined,
      );
    },
    end(run, count) {
      if (!runs.has(run.id)) return;
      if (!shared) return count();
      ending.set(run.id, count);
    },
    // With Redis unreachable, this replica still answers for the runs it started.
    async get(id) {
      return runs.get(id) ?? (await shared?.get(id).catch(() => undefined));
    },
    async list() {
      if (!shared) return local();
      const mine = new Map(local().map((run) => [run.id, run]));
      const others = await shared.list().catch(() => []);
      const all = others.map((run) => mine.get(run.id) ?? run);
      for (const run of mine.values()) if (!all.some((other) => other.id === run.id)) all.push(run);
      return all.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt)).slice(0, maxRuns);
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await publish().catch(() => undefined);
    },
  };
}
