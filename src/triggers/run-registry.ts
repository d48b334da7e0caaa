import type { SharedRuns } from './shared-runs.js';
import type { TriggerRun } from './trigger-run.js';

/** Recent runs, newest first, at most `maxRuns` (the oldest finished ones are dropped). */
export interface RunRegistry {
  add(run: TriggerRun): void;
  get(id: string): Promise<TriggerRun | undefined>;
  list(): Promise<TriggerRun[]>;
  /** Publishes `run`'s state now (before its slot is given back: see SharedRuns.get). */
  save(run: TriggerRun): Promise<void>;
  /** Stops publishing run state (shutdown). */
  stop(): Promise<void>;
}

// How often this replica publishes the runs it owns while they change.
const SYNC_MS = 200;

const settled = (run: TriggerRun) =>
  (run.status === 'succeeded' || run.status === 'failed') &&
  run.verification.expectations.every((expectation) => expectation.status !== 'pending');

/**
 * The runs this process started, in memory; with `shared`, also published to the other replicas
 * (snapshots while they change), and runs of other replicas are answered from there.
 */
export function createRunRegistry(
  maxRuns: number,
  shared?: SharedRuns,
  onError?: (error: unknown) => void,
): RunRegistry {
  const runs = new Map<string, TriggerRun>();
  // Runs whose state may still change, with the JSON last published.
  const unsettled = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let publishing = false;
  let failing = false;

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
      const final = settled(run);
      await shared?.save(run).then(
        () => {
          failing = false;
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
        if (old.status === 'succeeded' || old.status === 'failed') runs.delete(id);
      }
      if (!shared) return;
      unsettled.set(run.id, '');
      void publish();
      timer ??= setInterval(() => void publish(), SYNC_MS);
      timer.unref();
    },
    async save(run) {
      if (!shared || !runs.has(run.id)) return;
      const json = JSON.stringify(run);
      const final = settled(run);
      // Sent after any save of an older state still in flight (one connection, in order).
      await shared.save(run).then(
        () => {
          if (!unsettled.has(run.id)) return;
          // As publish() does: a run saved settled is done; otherwise its next change is published.
          if (final) unsettled.delete(run.id);
          else unsettled.set(run.id, json);
        },
        () => undefined,
      );
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
