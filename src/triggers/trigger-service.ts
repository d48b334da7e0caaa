import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { TriggersConfig } from '../config/triggers-env.js';
import { runEventGeneratorTrigger } from './event-generator-trigger.js';
import {
  cancelledOutcome,
  countedOutcome,
  createRunCancellation,
  stoppedOutcome,
} from './run-cancellation.js';
import {
  describeRunLeftovers,
  findOrphanLeftovers,
  removeOrphanLeftovers,
  warnCleanupCut,
} from './run-leftovers.js';
import { createLeftoverRemovals } from './leftover-removals.js';
import type { RunRegistry } from './run-registry.js';
import { isUnfinished } from './run-state.js';
import { createRunSlots } from './run-slots.js';
import { SLOT_LEASE_MS, type SharedRuns } from './shared-runs.js';
import { sharedFailure, type SharedFailure } from './shared-store-failures.js';
import { runShellTrigger } from './shell-trigger.js';
import { describeTarget, type TriggerRequest } from './trigger-request.js';
import { createTriggerContext, type TriggerOutcome } from './trigger-context.js';
import type { TriggerMetrics } from './trigger-metrics.js';
import type { TriggerKind, TriggerRun } from './trigger-run.js';
import { expectedDetections } from './run-expectations.js';
import type { Verifier } from './verify-run.js';

export interface TriggerServiceDeps {
  config: TriggersConfig;
  logger: Logger;
  metrics: TriggerMetrics;
  verifier: Verifier;
  registry: RunRegistry;
  /** With the Redis store: the per-kind limit holds across replicas. */
  shared?: SharedRuns;
  /** Environment handed to helm/kubectl/docker (already reduced to the allow-list). */
  childEnv: Record<string, string>;
  /** SLOT_LEASE_MS unless a test shortens it. */
  slotLeaseMs?: number;
}

/**
 * A started run, or why none was started. busy: TRIGGER_MAX_CONCURRENT runs of the kind run;
 * verifying: TRIGGER_MAX_RUNS wait for alerts; store-refused: Redis refused the slot (run-slots.ts).
 */
export type StartResult =
  { ok: true; run: TriggerRun } | { ok: false; reason: 'busy' | 'verifying' | 'store-refused' };

/**
 * A cancellation asked for (the run as it is now), or why not: no such run, it ended already, the
 * shared store failed to read the run (`unread`), or read it but did not take the request for the
 * replica running it (`unasked`); `failure` says whether the store was unavailable or refused.
 */
export type CancelResult =
  | { ok: true; run: TriggerRun }
  | { ok: false; reason: 'not-found' }
  | { ok: false; reason: 'finished'; run: TriggerRun }
  | { ok: false; reason: 'unread'; failure: SharedFailure }
  | { ok: false; reason: 'unasked'; failure: SharedFailure; run: TriggerRun };

/** Starts runs (per-kind concurrency limit), executes them in the background, records outcome and metrics. */
export function createTriggerService(deps: TriggerServiceDeps) {
  const { config } = deps;
  const active = new Map<TriggerKind, number>();
  const inFlight = new Set<Promise<void>>();
  const unfinished = new Set<TriggerRun>();
  // Orphans settled here whose leftovers wait for a slot of their kind, and those being removed
  // here (settled here, or left by a replica that stopped: marked in the shared store), by id.
  const orphansLeft = new Map<string, TriggerRun>();
  const cleaning = new Map<string, TriggerRun>();
  // The grace stop() was given, once it named the orphans' leftovers it left.
  let stoppedGraceMs: number | undefined;
  const abort = new AbortController();
  const cancellation = createRunCancellation(abort.signal);
  const leaseMs = deps.slotLeaseMs ?? SLOT_LEASE_MS;
  const slots = createRunSlots({
    shared: deps.shared,
    maxConcurrent: config.maxConcurrent,
    leaseMs,
    onCancelRequested: (run, requestedAt) => cancellation.cancel(run, requestedAt),
  });
  const removals = createLeftoverRemovals(deps.shared, leaseMs);

  // A run ends once, by its trigger or by shutdown: its outcome, the verifier and the metric. With
  // a shared store the run is counted once its end is saved: another replica may have settled it
  // as failed meanwhile, and counted it (adopt-orphans.ts), while this one was cut off past its lease.
  // Logged here, by either: a run shutdown ends is otherwise recorded nowhere once the process exits
  // (the in-memory store), and its release or pod may be left behind. A run cancelled on request
  // ends failed (its rules not_run, as any failed run's) and is counted as cancelled; one whose
  // step shutdown cancelled ends failed too, saying so, and is counted failed.
  function endRun(run: TriggerRun, outcome: TriggerOutcome, stopped = stoppedByShutdown(run, outcome)): void {
    const final =
      run.cancelRequestedAt !== undefined
        ? cancelledOutcome(outcome)
        : stopped
          ? stoppedOutcome(outcome)
          : outcome;
    run.status = final.ok ? 'succeeded' : 'failed';
    if (!final.ok) run.error = final.error;
    run.finishedAt = new Date().toISOString();
    deps.verifier.runFinished(run);
    deps.registry.count(run, () => deps.metrics.recordRun(run.kind, countedOutcome(run)));
    deps.logger.info(
      {
        runId: run.id,
        kind: run.kind,
        event: 'trigger_finished',
        status: run.status,
        error: run.error,
        cancelRequestedAt: run.cancelRequestedAt,
        commands: run.commands.length,
      },
      'trigger run finished',
    );
  }

  // A step that failed cancelled once shutdown began was cancelled by it; a run that failed on
  // its own and only cleaned up during shutdown says what it failed on alone.
  const stoppedByShutdown = (run: TriggerRun, outcome: TriggerOutcome) =>
    !outcome.ok && abort.signal.aborted && run.commands.some((command) => command.failure === 'cancelled');

  // Its final state first: a run saved as running reads as orphaned once its slot and hold are gone.
  async function saveAndRelease(run: TriggerRun): Promise<void> {
    await deps.registry.save(run);
    await slots.release(run);
  }

  async function execute(run: TriggerRun, request: TriggerRequest): Promise<void> {
    const log = deps.logger.child({ runId: run.id, kind: run.kind });
    const startMs = Date.now();
    run.status = 'running';
    run.startedAt = new Date(startMs).toISOString();
    deps.verifier.watch(run, expectedDetections(request, run.nonce, config), startMs);
    const ctx = createTriggerContext(run, cancellation.signalFor(run), deps);
    let outcome: TriggerOutcome;
    try {
      outcome =
        request.kind === 'shell'
          ? await runShellTrigger(request.target, run.nonce ?? '', ctx)
          : await runEventGeneratorTrigger(request, ctx);
    } catch (error) {
      // Triggers return typed results; this only catches a bug, so the run still ends.
      log.error({ err: error }, 'trigger threw');
      outcome = { ok: false, error: 'internal error while running the trigger' };
    }
    // Shutdown already ended it (stop): counted, published and logged then.
    if (run.finishedAt !== undefined) return;
    endRun(run, outcome);
  }

  // One orphan's cleanup, in a slot of its kind as a run takes (here and across replicas), once its
  // removal is this replica's (leftover-removals.ts); without a slot it waits in orphansLeft for a
  // later sweep. Recorded on the run, saved with it as removed, and logged.
  async function cleanUpOrphan(run: TriggerRun): Promise<void> {
    const left = findOrphanLeftovers(run);
    if (left === undefined || cleaning.has(run.id)) return void orphansLeft.delete(run.id);
    if ((active.get(run.kind) ?? 0) >= config.maxConcurrent) return;
    // Its removal taken before its slot, whose member is the run's id on every replica: claimed
    // first, a replica whose take then failed gave back the slot of the one removing them. Removed
    // or being removed by another replica (false), or the store cannot say (undefined): the orphan
    // waits here only in the latter case. Taken without a slot, the removal stays this replica's
    // while it retries (each sweep renews it), or lapses for another replica to take.
    const taken = await removals.take(run);
    if (!taken) {
      if (taken === false) orphansLeft.delete(run.id);
      return;
    }
    const count = active.get(run.kind) ?? 0;
    if (count >= config.maxConcurrent) return;
    active.set(run.kind, count + 1);
    const release = () => active.set(run.kind, (active.get(run.kind) ?? 1) - 1);
    const claim = await slots.claim(run);
    if (claim === 'busy' || claim === 'refused') {
      release();
      return;
    }
    // Shutdown began while the slot was claimed: the orphan stays listed, for stop() to name.
    if (abort.signal.aborted) {
      release();
      return slots.release(run);
    }
    orphansLeft.delete(run.id);
    cleaning.set(run.id, run);
    const stopRenewing = slots.renewWhileRunning(run);
    const stopHolding = removals.holdWhileRemoving(run);
    const ctx = createTriggerContext(run, cancellation.signalFor(run), deps);
    const done = removeOrphanLeftovers(left, run.id, ctx)
      .then(async (failure) => {
        if (failure !== undefined)
          run.error = `${run.error ?? ''}; removing ${describeRunLeftovers(left)} failed: ${failure}`;
        deps.logger[failure === undefined ? 'info' : 'warn'](
          { event: 'trigger_orphan_cleaned', runId: run.id, kind: run.kind, ...left, error: failure },
          `removed what trigger run ${run.id} left when its replica stopped: ${describeRunLeftovers(left)}${failure === undefined ? '' : ` (failed: ${failure})`}`,
        );
        await removals.record(run);
      })
      .finally(async () => {
        cleaning.delete(run.id);
        cancellation.forget(run);
        stopRenewing();
        stopHolding();
        release();
        await slots.release(run);
        inFlight.delete(done);
      });
    inFlight.add(done);
  }

  return {
    async start(request: TriggerRequest): Promise<StartResult> {
      const count = active.get(request.kind) ?? 0;
      if (count >= config.maxConcurrent) return { ok: false, reason: 'busy' };
      // Each run verifying holds a watch and its held alerts until its window ends: bounded.
      if (deps.registry.verifying() >= config.maxRuns) return { ok: false, reason: 'verifying' };
      // The local slot is taken first, so two requests here cannot both pass while Redis answers.
      active.set(request.kind, count + 1);
      const release = () => active.set(request.kind, (active.get(request.kind) ?? 1) - 1);
      const run: TriggerRun = {
        id: randomUUID(),
        kind: request.kind,
        status: 'queued',
        createdAt: new Date().toISOString(),
        target: describeTarget(request),
        commands: [],
        verification: { windowMs: config.verifyWindowMs, expectations: [] },
      };
      const claim = await slots.claim(run);
      if (claim === 'busy' || claim === 'refused') {
        release();
        return { ok: false, reason: claim === 'busy' ? 'busy' : 'store-refused' };
      }
      if (claim === 'unshared')
        deps.logger.warn(
          { event: 'trigger_slot_unshared', runId: run.id, kind: run.kind },
          'starting a trigger run without a slot across replicas: the shared store is unavailable, so TRIGGER_MAX_CONCURRENT holds on this replica alone',
        );
      if (request.kind === 'shell') run.nonce = randomBytes(8).toString('hex');
      deps.registry.add(run);
      unfinished.add(run);
      const stopRenewing = slots.renewWhileRunning(run);
      const done = execute(run, request).finally(async () => {
        unfinished.delete(run);
        cancellation.forget(run);
        stopRenewing();
        release();
        await saveAndRelease(run);
        // Only now: stop() waits for these writes before Redis closes.
        inFlight.delete(done);
      });
      inFlight.add(done);
      return { ok: true, run };
    },
    /**
     * Cancels an unfinished run's commands (cleanup steps still run; the run then ends failed,
     * naming the cancellation). A run another replica holds is asked through the shared store: that
     * replica reads the request within CANCEL_CHECK_MS.
     */
    async cancel(id: string): Promise<CancelResult> {
      const requestedAt = new Date().toISOString();
      const here = [...unfinished].find((run) => run.id === id);
      if (here && isUnfinished(here)) {
        cancellation.cancel(here, requestedAt);
        return { ok: true, run: here };
      }
      const found = await deps.registry.get(id);
      // Another replica's run may be there: not known to be missing.
      if (found.failure) return { ok: false, reason: 'unread', failure: found.failure };
      const { run } = found;
      if (!run) return { ok: false, reason: 'not-found' };
      if (!isUnfinished(run) || deps.registry.has(id) || !deps.shared)
        return { ok: false, reason: 'finished', run };
      // Another replica runs it: it reads the request as it renews the run's slot.
      const asked = await deps.shared.requestCancel(id, requestedAt).then(
        (stored) => ({ stored }),
        (error: unknown) => ({ failure: sharedFailure(error) }),
      );
      if ('failure' in asked) return { ok: false, reason: 'unasked', failure: asked.failure, run };
      return { ok: true, run: { ...run, cancelRequestedAt: asked.stored } };
    },
    /**
     * Removes what `run`, an orphan settled here or left marked by a replica that stopped
     * (adopt-orphans.ts), left (its release, its pod), once a slot of its kind is free: one cleanup
     * per orphan across replicas, bounded as runs are. Without `run`, those waiting here for a slot
     * are tried again. One `listed` (marked, its removal no replica's) is tried only: not kept here
     * to wait, nor named by stop() unless its removal began, as the store lists it again to every
     * replica's next sweep (kept, each replica that listed it named it as cut short as it stopped).
     */
    async cleanUpOrphan(run?: TriggerRun, listed = false): Promise<void> {
      if (run && !listed && findOrphanLeftovers(run) && !cleaning.has(run.id)) orphansLeft.set(run.id, run);
      // None starts once shutdown began (a sweep under way settled the orphan): it would outlive the
      // grace, with Redis closing. stop() names what is left; one settled after it did, at once.
      if (abort.signal.aborted) {
        if (run && stoppedGraceMs !== undefined && orphansLeft.delete(run.id))
          warnCleanupCut(deps.logger, run, stoppedGraceMs, deps.shared !== undefined);
        return;
      }
      for (const waiting of run ? [run] : [...orphansLeft.values()]) await cleanUpOrphan(waiting);
    },
    /**
     * Cancels running commands (cleanup steps still run) and waits up to `graceMs` for runs to end.
     * Resolves false when a run had not ended by then: its cleanup was cut short.
     */
    async stop(graceMs: number): Promise<boolean> {
      abort.abort();
      deps.verifier.stop();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([Promise.allSettled([...inFlight]), grace]);
      clearTimeout(timer);
      // Runs still going (a cleanup step outlived the grace) end here, as failed, for every replica.
      const cut = [...unfinished];
      for (const run of cut)
        endRun(run, { ok: false, error: warnCleanupCut(deps.logger, run, graceMs) }, true);
      await Promise.all(cut.map(saveAndRelease));
      unfinished.clear();
      // An orphan's leftovers not removed yet: named as a run's whose cleanup shutdown cut short,
      // left to another replica with the shared store, where they are marked (leftover-removals.ts).
      stoppedGraceMs = graceMs;
      const left = [...cleaning.values(), ...orphansLeft.values()];
      for (const run of left) warnCleanupCut(deps.logger, run, graceMs, deps.shared !== undefined);
      orphansLeft.clear();
      return cut.length === 0 && left.length === 0;
    },
  };
}

export type TriggerService = ReturnType<typeof createTriggerService>;
