import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { countedLines, type CountedLines } from '../logging/counted-lines.js';
import { createReasonCounter } from '../metrics/reason-counter.js';
import { replyCode } from '../store/redis-connection.js';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import { UnreadableRunError } from '../store/unreadable-run-error.js';
import { SHARED_RUNS_CALLS, type SharedRuns, type StoredRuns } from './shared-runs.js';

/** At most one `trigger_store_refused` line per call and reason per this many milliseconds (the first at once). */
export const REFUSED_LOG_EVERY_MS = 60_000;

/**
 * How a call to the shared runs failed. `unavailable`: an outage that passes by itself (Redis down,
 * hung, failing over, loading: the connection's StoreUnavailableError, which it logs as
 * `store_down`). `refused`: a reply Redis gives again until someone changes Redis (a key of another
 * type where a trigger key should be, an ACL without the command, Redis full), or a stored value
 * that is not a run (UnreadableRunError; a list or a sweep skips it and goes on).
 */
export type SharedFailure = 'unavailable' | 'refused';

export const sharedFailure = (error: unknown): SharedFailure =>
  error instanceof StoreUnavailableError ? 'unavailable' : 'refused';

const REASONS = ['wrongtype', 'noperm', 'noscript', 'oom', 'err', 'unreadable', 'other'] as const;
type RefusalReason = (typeof REASONS)[number];

/**
 * A refusal's reason from a fixed set: the reply's code, lower-cased, not the rest of its message,
 * which may quote what a caller sent. `unreadable`: the stored value was not a run (or, read
 * back for a run taken over, an alert that was not JSON).
 */
export function refusalReason(error: unknown): RefusalReason {
  if (error instanceof UnreadableRunError || error instanceof SyntaxError) return 'unreadable';
  const code = replyCode(error)?.toLowerCase();
  return REASONS.find((reason) => reason === code) ?? 'other';
}

/** What `reportStoreRefusals` gives: the calls that report what Redis refuses, and the flush. */
export interface StoreRefusals {
  /** The shared runs, every method reporting its refusals (as `op`, the method's name). */
  shared: SharedRuns;
  /** `call` reporting its refusals as `op`, logged with `message`. */
  reporting<A extends unknown[], R>(
    op: string,
    call: (...args: A) => Promise<R>,
    message: string,
  ): (...args: A) => Promise<R>;
  /** Logs the refusals not in a line yet (shutdown). */
  flush(): void;
}

const SHARED_REFUSED =
  'Redis refused a call for the shared trigger runs: they are not shared with the other replicas as they should be';
// Said of a stored value that is not a run, whichever call read it: Redis took the call, and the
// runs are shared; SHARED_REFUSED sent an operator looking for a key type or an ACL at fault.
const RUN_UNREADABLE =
  'a stored trigger run is not a run this replica reads (written by another version, or by hand): lists and sweeps for orphans skip it, and a read of it by id is answered 503';

/**
 * `shared` whose every refused call is counted in falco_trigger_store_refusals_total and logged as
 * `trigger_store_refused` (per call and reason the first at once, then at most a line a minute
 * with the count since), before the caller gets the error; `reporting` does so for another call
 * made for the runs (the alerts read back for a run taken over). Their callers swallow what they
 * cannot act on (a renewal, a release: the lease ends it); before, nothing said that Redis refused
 * them, and a WRONGTYPE or NOPERM left the runs unshared with `falco_store_up` at 1.
 */
export function reportStoreRefusals(
  shared: SharedRuns,
  deps: { logger: Logger; registry: Registry },
): StoreRefusals {
  const { logger, registry } = deps;
  const counter = createReasonCounter(
    registry,
    'falco_trigger_store_refusals_total',
    'Calls for shared trigger runs (and the alerts read back for a run taken over) that Redis refused (a key of another type, an ACL, Redis full, a stored value that is not a run, each time a call reads it), by reason; outages are not counted here (falco_store_up).',
    REASONS,
  );
  // Keyed by a call's name and a reason, both from fixed sets.
  const lines = new Map<string, CountedLines<unknown>>();
  const refused = (op: string, error: unknown, message: string) => {
    const reason = refusalReason(error);
    counter.inc(reason);
    const key = `${op} ${reason}`;
    let line = lines.get(key);
    if (!line) {
      const said = error instanceof UnreadableRunError ? RUN_UNREADABLE : message;
      line = countedLines<unknown>(REFUSED_LOG_EVERY_MS, (count, err) =>
        logger.warn({ event: 'trigger_store_refused', op, reason, count, err }, said),
      );
      lines.set(key, line);
    }
    line.add(1, error);
  };
  const reporting: StoreRefusals['reporting'] =
    (op, call, message) =>
    (...args) =>
      call(...args).catch((error: unknown) => {
        if (sharedFailure(error) === 'refused') refused(op, error, message);
        throw error;
      });
  // By the interface's names: a store's own keys missed the calls of a class (on its prototype),
  // which went through unwrapped, and unreported.
  const reported: Record<string, unknown> = { retentionMs: shared.retentionMs };
  for (const op of SHARED_RUNS_CALLS) {
    const bound = (shared[op] as (...args: unknown[]) => Promise<unknown>).bind(shared);
    reported[op] = reporting(op, bound, SHARED_REFUSED);
  }
  // A stored value skipped as not a run is reported as a refused read of it, each time it is skipped.
  for (const op of ['list', 'orphans', 'leftovers'] as const) {
    const read = reported[op] as () => Promise<StoredRuns>;
    reported[op] = () =>
      read().then((found) => {
        for (const error of found.unreadable) refused(op, error, RUN_UNREADABLE);
        return found;
      });
  }
  return {
    shared: reported as unknown as SharedRuns,
    reporting,
    flush: () => lines.forEach((line) => line.flush()),
  };
}
