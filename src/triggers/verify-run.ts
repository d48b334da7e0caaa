import type { StoredAlert } from '../alerts/stored-alert.js';
import type { TriggerMetrics } from './trigger-metrics.js';
import { isUnfinished } from './run-state.js';
import { allResolved, CLOCK_SKEW_MS, hold, isCandidate, seen, type Watch } from './run-watch.js';
import { isNegativeControl, type TriggerRun } from './trigger-run.js';

/** An expected detection: the rule, and what ties an alert to this run (nonce, the run's pods). */
export interface ExpectedDetection {
  rule: string;
  /**
   * Reads the run as it is now: pods learned later make earlier alerts match on a re-check.
   * `startMs` is the trigger start.
   */
  matches(entry: StoredAlert, run: TriggerRun, startMs: number): boolean;
}

/** Matches alerts from the feed to runs waiting for them; a run's expectations end detected or missed. */
export interface Verifier {
  /** Starts the window for `run` (its expectations become pending); `startMs` is trigger start. */
  watch(run: TriggerRun, expected: ExpectedDetection[], startMs: number): void;
  /**
   * Takes over a run that succeeded on a replica that stopped: its saved statuses kept, the rest of
   * its window (from `startMs`). Alerts that come meanwhile match at once; `past` (the stored
   * alerts received since the start) is checked before the window may end, then `keep` is called
   * (the registry keeps the run from then on, so its counts wait for its save), and the detections
   * are counted only then. False, with nothing kept or counted, when `past` cannot be read.
   */
  resume(
    run: TriggerRun,
    expected: ExpectedDetection[],
    startMs: number,
    past: Promise<StoredAlert[]>,
    keep: () => void,
  ): Promise<boolean>;
  /** Feed listener: resolves every pending expectation this alert satisfies. */
  observeAlert(entry: StoredAlert): void;
  /**
   * Feed gap listener: alerts were removed from the shared store before they could be matched. The
   * runs still waiting that it is news for (each is returned once): one may end `missed` though
   * Falco did detect what it started. `throughMs` is when the newest missing alert was stored, on
   * this process's clock (its stream id is on Redis's): a run started after that, past the clocks'
   * skew, missed none of its own.
   */
  observeGap(throughMs: number): TriggerRun[];
  /** The run learned more about what it started (its pods): alerts held back are checked again. */
  runChanged(run: TriggerRun): void;
  /**
   * The trigger ended. Failed: nothing verifies, detections so far included (not_run, uncounted).
   * Succeeded: detections so far are counted, later ones as they come, until the window ends.
   */
  runFinished(run: TriggerRun): void;
  /** Stops verifying `run` here, as it is (another replica took it over). */
  forget(run: TriggerRun): void;
  /** Stops every window timer and matching (shutdown); pending stays pending, a run failing still undoes detections. */
  stop(): void;
}

export { CLOCK_SKEW_MS, MAX_HELD_ALERTS, MAX_HELD_BYTES } from './run-watch.js';

const PENDING: ReadonlySet<string> = new Set(['pending']);
const PENDING_OR_DETECTED: ReadonlySet<string> = new Set(['pending', 'detected']);

export interface VerifierDeps {
  metrics: TriggerMetrics;
  windowMs: number;
  /**
   * How a run's results reach `metrics`: at once unless given. create-triggers.ts passes
   * RunRegistry.count: with a shared store a result is counted once the run is saved with it, never
   * by a replica that lost the run (another took it over while it was cut off, and counts it).
   */
  count?: (run: TriggerRun, record: () => void) => void;
}

export function createVerifier(deps: VerifierDeps): Verifier {
  const watches = new Map<TriggerRun, Watch>();
  const count = deps.count ?? ((_run: TriggerRun, record: () => void) => record());
  let stopped = false;

  const finish = (watch: Watch) => {
    clearTimeout(watch.timer);
    watches.delete(watch.run);
  };
  const endAs = (watch: Watch, status: 'missed' | 'not_run', from: ReadonlySet<string>) => {
    for (const expectation of watch.run.verification.expectations) {
      if (!from.has(expectation.status)) continue;
      expectation.status = status;
      delete expectation.alertId;
      delete expectation.latencyMs;
      if (status === 'missed')
        count(watch.run, () =>
          deps.metrics.recordVerification(watch.run.kind, 'missed', undefined, isNegativeControl(watch.run)),
        );
    }
    finish(watch);
  };
  const countDetected = (watch: Watch, index: number) => {
    const expectation = watch.run.verification.expectations[index];
    if (expectation?.status !== 'detected') return;
    const { kind } = watch.run;
    const { latencyMs } = expectation;
    const control = isNegativeControl(watch.run);
    count(watch.run, () => deps.metrics.recordVerification(kind, 'detected', latencyMs, control));
  };
  // True when the alert resolved an expectation. Counted at once only for a run that succeeded.
  const tryMatch = (watch: Watch, entry: StoredAlert): boolean => {
    let matched = false;
    watch.expected.forEach((expected, index) => {
      const expectation = watch.run.verification.expectations[index];
      if (!expectation || expectation.status !== 'pending' || entry.rule !== expected.rule) return;
      if (!expected.matches(entry, watch.run, watch.startMs)) return;
      // Never below 0: the receiving replica's clock may run behind the one that started the run.
      const latencyMs = Math.max(0, entry.receivedAtMs - watch.startMs);
      Object.assign(expectation, { status: 'detected', alertId: entry.id, latencyMs });
      if (watch.run.status === 'succeeded' && watch.timer) countDetected(watch, index);
      matched = true;
    });
    return matched;
  };
  const offer = (watch: Watch, entry: StoredAlert) => {
    if (!isCandidate(watch, entry)) return;
    // With Redis this replica's own alerts come twice (at once, then from the shared stream).
    if (seen(watch, entry.id)) return;
    if (!tryMatch(watch, entry)) hold(watch, entry);
  };
  // A run that failed says nothing about Falco: not_run, and not counted as missed. One whose trigger
  // still runs (a slow helm install) is judged when it ends (runFinished): it may yet fail.
  const startWindow = (watch: Watch, delayMs: number) => {
    const expire = () => {
      if (isUnfinished(watch.run)) {
        watch.windowEnded = true;
        return;
      }
      endAs(watch, watch.run.status === 'failed' ? 'not_run' : 'missed', PENDING);
    };
    watch.timer = setTimeout(expire, Math.max(0, delayMs));
    watch.timer.unref();
  };
  const track = (run: TriggerRun, expected: ExpectedDetection[], startMs: number) => {
    const endMs = startMs + run.verification.windowMs;
    const watch: Watch = { run, expected, startMs, endMs, held: [], heldBytes: 0 };
    watches.set(run, watch);
    return watch;
  };

  return {
    watch(run, expected, startMs) {
      run.verification = {
        windowMs: deps.windowMs,
        expectations: expected.map(({ rule }) => ({ rule, status: 'pending' })),
      };
      if (expected.length > 0) startWindow(track(run, expected, startMs), deps.windowMs);
    },
    async resume(run, expected, startMs, past, keep) {
      // Handled before anything returns: stopped, the read is not waited for, and the store closing
      // may fail it (unhandled, that ended the process). What fails it otherwise is an outage (the
      // run is taken over again once it passes): a refusal is reported, and the run resumed without
      // those alerts, by adopt-orphans.ts.
      const read = past.catch(() => undefined);
      if (stopped) return false;
      const watch = track(run, expected, startMs);
      const open = run.verification.expectations.map((expectation) => expectation.status === 'pending');
      const alerts = await read;
      // Forgotten meanwhile (or shutdown): nothing is counted here.
      if (!alerts || stopped || watches.get(run) !== watch) {
        finish(watch);
        return false;
      }
      for (const entry of alerts) offer(watch, entry);
      keep();
      // Counted here, once: the replica that stopped counted what it had saved as detected.
      open.forEach((wasPending, index) => wasPending && countDetected(watch, index));
      if (allResolved(watch)) finish(watch);
      else startWindow(watch, watch.endMs - Date.now());
      return true;
    },
    observeAlert(entry) {
      if (stopped) return;
      for (const watch of watches.values()) {
        offer(watch, entry);
        if (allResolved(watch) && watch.run.status === 'succeeded' && watch.timer) finish(watch);
      }
    },
    observeGap(throughMs) {
      if (stopped) return [];
      const at = new Date().toISOString();
      const waiting = [...watches.values()].filter(
        (watch) =>
          !watch.run.verification.unseenAlertsAt &&
          !allResolved(watch) &&
          throughMs >= watch.startMs - CLOCK_SKEW_MS,
      );
      // Saved with the run (published while it verifies): GET /triggers/{id} says it on every replica.
      for (const { run } of waiting) run.verification.unseenAlertsAt = at;
      return waiting.map((watch) => watch.run);
    },
    runChanged(run) {
      const watch = watches.get(run);
      if (!watch) return;
      watch.held = watch.held.filter((entry) => !tryMatch(watch, entry));
      watch.heldBytes = watch.held.reduce((sum, entry) => sum + entry.bytes, 0);
    },
    runFinished(run) {
      const watch = watches.get(run);
      if (!watch) return;
      if (run.status === 'failed') return endAs(watch, 'not_run', PENDING_OR_DETECTED);
      watch.expected.forEach((_, index) => countDetected(watch, index));
      // The window ended while the trigger ran: what is still pending was missed.
      if (watch.windowEnded) return endAs(watch, 'missed', PENDING);
      if (allResolved(watch)) finish(watch);
    },
    forget(run) {
      const watch = watches.get(run);
      if (watch) finish(watch);
    },
    stop() {
      stopped = true;
      for (const watch of watches.values()) clearTimeout(watch.timer);
    },
  };
}
