import type { TriggerRun } from './trigger-run.js';

/** Recent runs in memory, newest first, at most `maxRuns` (the oldest finished ones are dropped). */
export interface RunRegistry {
  add(run: TriggerRun): void;
  get(id: string): TriggerRun | undefined;
  list(): TriggerRun[];
}

export function createRunRegistry(maxRuns: number): RunRegistry {
  const runs = new Map<string, TriggerRun>();
  return {
    add(run) {
      runs.set(run.id, run);
      for (const [id, old] of runs) {
        if (runs.size <= maxRuns) break;
        if (old.status === 'succeeded' || old.status === 'failed') runs.delete(id);
      }
    },
    get: (id) => runs.get(id),
    list: () => [...runs.values()].reverse(),
  };
}
