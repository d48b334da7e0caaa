import { StoreUnavailableError } from '../../src/store/store-unavailable-error.js';
import { SHARED_RUNS_CALLS, type SharedRuns } from '../../src/triggers/shared-runs.js';

/**
 * A replica's link to the shared runs that a test cuts: every call then fails, as with Redis
 * unreachable (with the connection's StoreUnavailableError). With `replyLost` every call is
 * carried out and then fails, as when the link drops before Redis's reply arrives.
 */
export function cuttable(runs: SharedRuns): { cut: boolean; replyLost: boolean; shared: SharedRuns } {
  const link = { cut: false, replyLost: false, shared: { ...runs } };
  const lost = () => Promise.reject(new StoreUnavailableError(new Error('no reply from Redis')));
  for (const name of SHARED_RUNS_CALLS) {
    const call = (runs[name] as (...args: unknown[]) => Promise<unknown>).bind(runs);
    (link.shared as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (link.cut) return Promise.reject(new StoreUnavailableError(new Error('no route to Redis')));
      return link.replyLost ? call(...args).then(lost) : call(...args);
    };
  }
  return link;
}
