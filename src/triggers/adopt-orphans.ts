import type { Logger } from 'pino';
import type { AlertStore } from '../alerts/alert-store.js';
import type { StoredAlert } from '../alerts/stored-alert.js';
import type { ReadBudget } from '../http/read-budget.js';
import { countedOutcome } from './run-cancellation.js';
import { CLOCK_SKEW_MS } from './run-watch.js';
import { savedDetections } from './run-expectations.js';
import { findOrphanLeftovers } from './run-leftovers.js';
import type { RunRegistry } from './run-registry.js';
import { awaitsAlerts, isUnfinished } from './run-state.js';
import type { SharedRuns } from './shared-runs.js';
import { sharedFailure } from './shared-store-failures.js';
import type { TriggerMetrics } from './trigger-metrics.js';
import type { TriggerRun } from './trigger-run.js';
import type { Verifier } from './verify-run.js';

/**
 * Most stored alerts, and bytes of them, read back for a run taken over: for all its pending rules
 * together, shared out evenly. Each rule had the whole budget: event-generator's `^syscall` run
 * waits for 58 rules, and alerts posted under those names (anyone can post) made a takeover read
 * 58 x 8 MB into one replica, and into the next one that took the run over if that one fell.
 */
export const CATCH_UP_MAX_ALERTS = 10_000;
export const CATCH_UP_MAX_BYTES = 8 * 1024 * 1024;

// The address the read-back reserves the readers' budget under: its own share, no client's.
const CATCH_UP_READER = 'trigger-catch-up';

export interface OrphanAdoptionDeps {
  shared: SharedRuns;
  registry: RunRegistry;
  verifier: Verifier;
  metrics: TriggerMetrics;
  /** The shared store: the alerts that came while nobody watched the run are read back from it. */
  alerts: Pick<AlertStore, 'query'>;
  /** The readers' budget (QUERY_MAX_INFLIGHT_BYTES): the alerts read back are held within it. */
  readBudget?: Pick<ReadBudget, 'reserve'>;
  leaseMs: number;
  logger: Logger;
  /**
   * Removes what an orphan left (its helm release, its pod), in a slot of its kind: one this replica
   * settled, or one whose leftovers the store lists as not removed yet (`listed`: the replica that
   * settled it stopped first; tried once, listed again at the next sweep); called at each sweep
   * without one too, for those settled here that waited for a slot (trigger-service.ts). Without
   * it, no orphan is marked as leaving anything.
   */
  cleanUp?: (run?: TriggerRun, listed?: boolean) => Promise<void>;
}

/** The alerts read back for a run taken over, and whether a rule's read may have left its detection out. */
export interface StoredOfRules {
  /** Oldest first. */
  alerts: StoredAlert[];
  /**
   * A rule's read stopped at its share (its count or bytes, or a shared store's own bound) with
   * alerts received since `sinceMs` still to read: a busy rule (another user's shells, a noisy
   * write) can push the run's own alert past it.
   */
  partial: boolean;
}

/**
 * The stored alerts of `rules`: of each rule the newest, within its even share of the catch-up
 * budget. Not filtered by Falco's event time: a node's clock may be off (run-expectations.ts); the
 * verifier keeps those received in the window. One rule at a time, each read's alert that crosses
 * its share dropped, so the whole read holds CATCH_UP_MAX_BYTES and, while a rule is read, one
 * alert past it at most: read at once, each rule's read kept the alert that crossed its share, and
 * 58 rules of one 1.75 MiB alert each read back 101.5 MiB with Redis. Kept and taken from what the
 * rules after it had left, rules of older 2.9 KB alerts spent the budget before the last rule, whose
 * alert of the run went unread (review).
 */
export async function readStoredOfRules(
  alerts: OrphanAdoptionDeps['alerts'],
  rules: readonly string[],
  sinceMs = -Infinity,
): Promise<StoredOfRules> {
  const distinct = [...new Set(rules)];
  const limit = Math.max(1, Math.floor(CATCH_UP_MAX_ALERTS / distinct.length));
  const maxBytes = Math.floor(CATCH_UP_MAX_BYTES / distinct.length);
  const read: StoredAlert[] = [];
  let partial = false;
  for (const rule of distinct) {
    const found = await alerts.query({ limit, maxBytes, rule });
    const crossed = found.alerts.reduce((sum, entry) => sum + entry.bytes, 0) > maxBytes;
    // Newest first: the last one read is the oldest. Read back to before `sinceMs`, nothing was left.
    // None read, a shared store's cut (its bound on entries read) says not how far back it went.
    partial ||=
      (found.cut === true || found.alerts.length >= limit || crossed) &&
      (found.alerts.at(-1)?.receivedAtMs ?? Infinity) >= sinceMs;
    // The one past the share only shows the read stopped there: said by `partial` when it counts.
    read.push(...(crossed ? found.alerts.slice(0, -1) : found.alerts));
  }
  return { alerts: oldestFirst(read), partial };
}

const oldestFirst = (read: StoredAlert[]) =>
  read.sort((a: StoredAlert, b: StoredAlert) => a.receivedAtMs - b.receivedAtMs);

const pendingRules = (run: TriggerRun) =>
  run.verification.expectations.filter(({ status }) => status === 'pending').map(({ rule }) => rule);

/**
 * Every third of the lease, takes over the runs of a replica that stopped. One that succeeded and
 * waited for alerts: this replica holds it, checks the alerts stored since its start and the live
 * ones, ends it `detected` or `missed` when its window (from its start) ends, counts that as its
 * own runs' results, and publishes it. One still queued or running failed: the one replica that
 * saves it so counts it in `falco_trigger_runs_total` (`cancelled` when its cancellation was asked
 * for), as a replica counts the runs it ends (its own replica never ended it), and removes what the
 * run left (`cleanUp`: its helm release or its pod, once, in a slot of its kind), as it does what a
 * replica that stopped first settled and left (`removeLeft`). Returns the function that stops it.
 */
export function startOrphanAdoption(deps: OrphanAdoptionDeps): () => void {
  const { shared, registry, verifier, logger } = deps;
  let sweeping = false;

  // Marked in the store, as it is settled, when it left something to remove: should this replica stop
  // before it removed it, another one's sweep does (`removeLeft`).
  const leftBehind = deps.cleanUp && ((settled: TriggerRun) => findOrphanLeftovers(settled) !== undefined);

  // Counted as saved: one whose cancellation was asked for is counted cancelled, as its replica would have.
  async function settle(run: TriggerRun): Promise<void> {
    const settled = registry.has(run.id) ? undefined : await shared.settleOrphan(run, leftBehind);
    if (!settled) return;
    const outcome = countedOutcome(settled);
    deps.metrics.recordRun(run.kind, outcome);
    logger.info(
      { event: 'trigger_run_settled', runId: run.id, kind: run.kind, outcome },
      'failed a trigger run whose replica stopped while it ran',
    );
    await deps.cleanUp?.(settled);
  }

  // The hold on a run being taken over, renewed while its stored alerts are read back (up to 8 MiB
  // may outlast the lease): lapsed, another replica would take the run over too. Refused, another
  // replica took it (the hold lapsed in an outage): it is not resumed here. Returns what stops it.
  function holdWhileReading(run: TriggerRun): () => void {
    const renew = () =>
      shared.own(run.id, deps.leaseMs).then(
        (held) => held || verifier.forget(run),
        () => undefined,
      );
    const timer = setInterval(() => void renew(), Math.max(1, Math.floor(deps.leaseMs / 3)));
    timer.unref();
    return () => clearInterval(timer);
  }

  // The alerts read back are held within the readers' budget, as a list's are: outside it, they
  // came on top of the lists and replays it bounds. Without room, the run is taken over at a later
  // sweep (counted in falco_alert_reads_refused_total).
  async function adopt(listed: TriggerRun): Promise<void> {
    if (registry.has(listed.id) || listed.startedAt === undefined) return;
    const release = deps.readBudget
      ? deps.readBudget.reserve(CATCH_UP_MAX_BYTES, CATCH_UP_READER)
      : () => undefined;
    if (!release) return;
    await readAndResume(listed).finally(release);
  }

  async function readAndResume(listed: TriggerRun): Promise<void> {
    if (!(await shared.own(listed.id, deps.leaseMs))) return;
    // As saved now, not as listed: the sweep reads each run's stored alerts in turn, and meanwhile
    // another replica may have taken a run over, settled it and let its hold lapse.
    const run = await shared.get(listed.id);
    if (run?.startedAt === undefined || !awaitsAlerts(run)) return;
    const startMs = Date.parse(run.startedAt);
    const past = readStoredOfRules(deps.alerts, pendingRules(run), startMs - CLOCK_SKEW_MS).then(
      ({ alerts, partial }) => {
        // Judged missed from what was read, the run would not say its alert may be among those left.
        if (partial) run.verification.unseenAlertsAt ??= new Date().toISOString();
        return alerts;
      },
      (error: unknown) => {
        // An outage passes: the run is not resumed, its hold lapses, and a sweep takes it over again
        // once Redis is back. A refusal (logged as trigger_store_refused) lasts: not resumed, the run
        // was taken over again every lease, each time reading up to CATCH_UP_MAX_BYTES and failing,
        // with nothing said. Resumed without them, said as for alerts gone by unseen.
        if (sharedFailure(error) === 'unavailable') throw error;
        run.verification.unseenAlertsAt ??= new Date().toISOString();
        return [];
      },
    );
    const stopHolding = holdWhileReading(run);
    // Kept before its detections are counted: they count once it is saved with them.
    const keep = () => registry.add(run);
    const resumed = await verifier
      .resume(run, savedDetections(run), startMs, past, keep)
      .finally(stopHolding);
    // Not read (an outage): its hold lapses and a replica takes it over again. Or another replica holds it.
    if (!resumed) return;
    logger.info(
      { event: 'trigger_run_taken_over', runId: run.id, kind: run.kind },
      'took over a trigger run whose replica stopped',
    );
  }

  // What settled orphans left and no replica is removing: the replica that settled them stopped (or
  // died) before it removed them, and its lease on their removal lapsed. Each is removed once, by
  // the replica that takes its removal (trigger-service.ts). Last in a sweep: a refusal here (logged
  // as trigger_store_refused) keeps no orphan from being settled or taken over.
  async function removeLeft(): Promise<void> {
    if (!deps.cleanUp) return;
    for (const run of (await shared.leftovers()).runs) await deps.cleanUp(run, true);
  }

  // Each orphan on its own: a call refused for one (a key of another type under its id: logged as
  // trigger_store_refused) ended the whole sweep, and while it lasted the orphans listed after it
  // were never settled nor taken over. An outage still ends the sweep: every call would fail the
  // same way, each after the connection's timeout, and the next sweep tries them all again. A
  // stored value that is not a run is skipped by `orphans` (and reported: shared-store-failures.ts).
  async function sweep(): Promise<void> {
    if (sweeping) return;
    sweeping = true;
    try {
      await deps.cleanUp?.();
      for (const run of (await shared.orphans()).runs) {
        await (isUnfinished(run) ? settle(run) : adopt(run)).catch((error: unknown) => {
          if (sharedFailure(error) === 'unavailable') throw error;
          logger.debug(
            { event: 'trigger_orphans_failed', runId: run.id, err: error },
            'could not take over a trigger run',
          );
        });
      }
      await removeLeft();
    } catch (error) {
      logger.debug({ event: 'trigger_orphans_failed', err: error }, 'could not take over trigger runs');
    } finally {
      sweeping = false;
    }
  }

  const timer = setInterval(() => void sweep(), Math.max(1, Math.floor(deps.leaseMs / 3)));
  timer.unref();
  return () => clearInterval(timer);
}
