import type { SharedRuns } from '../../src/triggers/shared-runs.js';

/** A replica's link to the shared runs that a test cuts: every call then fails, as with Redis unreachable. */
export function cuttable(runs: SharedRuns): { cut: boolean; shared: SharedRuns } {
  const link = { cut: false, shared: { ...runs } };
  for (const name of Object.keys(runs) as Array<keyof SharedRuns>) {
    if (typeof runs[name] !== 'function') continue;
    const call = runs[name] as (...args: unknown[]) => Promise<unknown>;
    (link.shared as Record<string, unknown>)[name] = (...args: unknown[]) =>
      link.cut ? Promise.reject(new Error('no route to Redis')) : call(...args);
  }
  return link;
}
