import { createHoldConfirmations } from './hold-confirmations.js';
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
   * Counts a change of a run kept here (its end, an expectation resolved): `record` is called once,
   * at once without `shared`; with it, once a save of the run as it is now goes through, never when
   * another replica holds the run by then (it took the run over or settled it while this one was cut
   * off from the store past its lease, and counts it there).
   */
  count(run: TriggerRun, record: () => void): void;
  /** Stops publishing run state (shutdown). */
  stop(): Promise<void>;
}

// How often this replica publishes the runs it owns while they change.
const SYNC_MS = 200;

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
  // What counts each run's changes once a save of them goes through.
  const counts = new Map<string, Set<() => void>>();
  const holds = createHoldConfirmations(shared?.retentionMs ?? Infinity);

  // Forgets the run here: neither kept, published, held nor counted any more.
  function drop(id: string): void {
    unsettled.delete(id);
    counts.delete(id);
    holds.forget(id);
    runs.delete(id);
  }

  // A run another replica holds now was taken over while this one could not reach Redis: it is theirs.
  function lose(id: string): void {
    const run = runs.get(id);
    drop(id);
    if (run) onLost?.(run);
  }

  // Cut off from the store for its retention, this replica can no longer tell whether another one
  // took the run over and counted it: it gives the run up, uncounted, rather than count it twice.
  function lapsed(id: string): boolean {
    if (!holds.lapsed(id)) return false;
    lose(id);
    return true;
  }

  // What waits to be counted when a save of the run is sent: that save, once through, counts it.
  const due = (id: string) => [...(counts.get(id) ?? [])];
  // A save went through: counts what waited when it was sent (once: another save may count it
  // first); a run saved settled with nothing left to count is done, else what was saved is noted.
  function saved(id: string, sent: Array<() => void>, final: boolean, json: string): void {
    const waiting = counts.get(id);
    for (const record of sent) if (waiting?.delete(record)) record();
    if (waiting?.size === 0) counts.delete(id);
    if (final && !counts.has(id)) {
      unsettled.delete(id);
      holds.forget(id);
    } else unsettled.set(id, json);
  }

  // Renews the hold of every run that may still change (every third of the lease).
  async function renewHolds(): Promise<void> {
    if (!shared || Date.now() - heldAtMs < leaseMs / 3) return;
    heldAtMs = Date.now();
    for (const id of unsettled.keys()) {
      if (lapsed(id)) continue;
      const held = await shared.own(id, leaseMs).catch(() => undefined);
      if (held === false) lose(id);
      // Confirmed only while it may still change: a reply after the run was done would leave it here.
      else if (held && unsettled.has(id)) holds.confirm(id);
    }
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
      // Saved as it is, but counts wait (queued as that save was sent): saved again, to count them.
      if ((json === sent && !counts.has(id)) || lapsed(id)) continue;
      // Settled as saved, not as the run is once the save returns: a run that settled while its
      // older state was being saved must be published again.
      const final = isSettled(run);
      const sending = due(id);
      await shared?.save(run).then(
        (through) => {
          failing = false;
          if (!through) return lose(id);
          saved(id, sending, final, json);
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
        // A run still verifying stays: dropped, it would be neither published nor held any more.
        if (!isSettled(old)) continue;
        // One whose end is not saved yet (the store unreachable) stays too, up to twice the bound:
        // past that, the oldest go unsaved and uncounted, so a long outage cannot pile them up.
        if (unsettled.has(id) && runs.size <= 2 * maxRuns) continue;
        drop(id);
      }
      if (!shared) return;
      unsettled.set(run.id, '');
      // Held before it is first saved (one connection, in order): it never reads as orphaned.
      void shared.own(run.id, leaseMs).then(
        (held) => held && unsettled.has(run.id) && holds.confirm(run.id),
        () => undefined,
      );
      void publish();
      timer ??= setInterval(() => {
        void publish();
        void renewHolds();
      }, SYNC_MS);
      timer.unref();
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
