import { createHoldConfirmations, type HoldConfirmations } from './hold-confirmations.js';
import type { TriggerRun } from './trigger-run.js';

/** The runs this replica keeps, with what is still to publish, count and hold of each. */
export interface KeptRuns {
  readonly runs: Map<string, TriggerRun>;
  /** Runs whose state may still change, with the JSON last published. */
  readonly unsettled: Map<string, string>;
  /** What counts each run's changes once a save of them goes through. */
  readonly counts: Map<string, Set<() => void>>;
  readonly holds: HoldConfirmations;
  drop(id: string): void;
  lose(id: string): void;
  lapsed(id: string): boolean;
  due(id: string): Array<() => void>;
  saved(id: string, sent: Array<() => void>, final: boolean, json: string): void;
}

/**
 * The bookkeeping of the run registry: the runs kept here and what is still to publish, count and
 * hold of each, and how a run is forgotten, lost to another replica, or given up once its holds lapsed.
 */
export function createKeptRuns(retentionMs: number, onLost?: (run: TriggerRun) => void): KeptRuns {
  const runs = new Map<string, TriggerRun>();
  // Runs whose state may still change, with the JSON last published.
  const unsettled = new Map<string, string>();
  // What counts each run's changes once a save of them goes through.
  const counts = new Map<string, Set<() => void>>();
  const holds = createHoldConfirmations(retentionMs);

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

  return { runs, unsettled, counts, holds, drop, lose, lapsed, due, saved };
}
