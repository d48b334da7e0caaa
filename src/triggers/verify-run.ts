import type { StoredAlert } from '../alerts/stored-alert.js';
import type { TriggerMetrics } from './trigger-metrics.js';
import type { TriggerRun } from './trigger-run.js';

/** An expected detection: the rule, and what ties an alert to this run (nonce, the run's pods). */
export interface ExpectedDetection {
  rule: string;
  /** Reads the run as it is now: pods learned later make earlier alerts match on a re-check. */
  matches(entry: StoredAlert, run: TriggerRun): boolean;
}

/** Matches alerts from the feed to runs waiting for them; a run's expectations end detected or missed. */
export interface Verifier {
  /** Starts the window for `run` (its expectations become pending); `startMs` is trigger start. */
  watch(run: TriggerRun, expected: ExpectedDetection[], startMs: number): void;
  /** Feed listener: resolves every pending expectation this alert satisfies. */
  observeAlert(entry: StoredAlert): void;
  /** The run learned more about what it started (its pods): alerts held back are checked again. */
  runChanged(run: TriggerRun): void;
  /**
   * The trigger ended. Failed: nothing verifies, detections so far included (not_run, uncounted).
   * Succeeded: detections so far are counted, later ones as they come, until the window ends.
   */
  runFinished(run: TriggerRun): void;
  /** Stops every window timer and matching (shutdown); pending stays pending, a run failing still undoes detections. */
  stop(): void;
}

/** Alerts of an expected rule kept per run until what it started is known (pods appear late). */
export const MAX_HELD_ALERTS = 64;
/** And their request bytes together: anyone who can post could otherwise hold 64 bodies of 1 MiB per run. */
export const MAX_HELD_BYTES = 1024 * 1024;
/** How far a node's clock may lag ours: an event this long before the run started is not its. */
export const CLOCK_SKEW_MS = 5_000;

const PENDING: ReadonlySet<string> = new Set(['pending']);

// The alert already matched one of the run's expectations, or is held for it.
function seen(watch: Watch, id: string): boolean {
  return (
    watch.run.verification.expectations.some((expectation) => expectation.alertId === id) ||
    watch.held.some((held) => held.id === id)
  );
}
const PENDING_OR_DETECTED: ReadonlySet<string> = new Set(['pending', 'detected']);

interface Watch {
  run: TriggerRun;
  expected: ExpectedDetection[];
  startMs: number;
  timer: NodeJS.Timeout;
  /** Alerts of an expected rule that did not (yet) match, newest last. */
  held: StoredAlert[];
  /** Their request bytes together. */
  heldBytes: number;
}

// The newest held alerts within both bounds (the newest one is always kept).
function hold(watch: Watch, entry: StoredAlert): void {
  watch.held.push(entry);
  watch.heldBytes += entry.bytes;
  while (watch.held.length > MAX_HELD_ALERTS || (watch.heldBytes > MAX_HELD_BYTES && watch.held.length > 1))
    watch.heldBytes -= watch.held.shift()!.bytes;
}

export function createVerifier(deps: { metrics: TriggerMetrics; windowMs: number }): Verifier {
  const watches = new Map<TriggerRun, Watch>();
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
      if (status === 'missed') deps.metrics.recordVerification(watch.run.kind, 'missed');
    }
    finish(watch);
  };
  const countDetected = (watch: Watch, index: number) => {
    const expectation = watch.run.verification.expectations[index];
    if (expectation?.status === 'detected')
      deps.metrics.recordVerification(watch.run.kind, 'detected', expectation.latencyMs);
  };
  // True when the alert resolved an expectation. Counted at once only for a run that succeeded.
  const tryMatch = (watch: Watch, entry: StoredAlert): boolean => {
    let matched = false;
    watch.expected.forEach((expected, index) => {
      const expectation = watch.run.verification.expectations[index];
      if (!expectation || expectation.status !== 'pending' || entry.rule !== expected.rule) return;
      if (!expected.matches(entry, watch.run)) return;
      const latencyMs = entry.receivedAtMs - watch.startMs;
      Object.assign(expectation, { status: 'detected', alertId: entry.id, latencyMs });
      if (watch.run.status === 'succeeded') countDetected(watch, index);
      matched = true;
    });
    return matched;
  };
  const allResolved = (watch: Watch) =>
    watch.run.verification.expectations.every((e) => e.status !== 'pending');
  const isCandidate = (watch: Watch, entry: StoredAlert) =>
    entry.receivedAtMs >= watch.startMs &&
    entry.timeMs >= watch.startMs - CLOCK_SKEW_MS &&
    watch.expected.some((expected) => expected.rule === entry.rule);

  return {
    watch(run, expected, startMs) {
      run.verification = {
        windowMs: deps.windowMs,
        expectations: expected.map(({ rule }) => ({ rule, status: 'pending' })),
      };
      if (expected.length === 0) return;
      // A run that failed says nothing about Falco: not_run, and not counted as missed.
      const expire = () => endAs(watch, run.status === 'failed' ? 'not_run' : 'missed', PENDING);
      const watch: Watch = {
        run,
        expected,
        startMs,
        held: [],
        heldBytes: 0,
        timer: setTimeout(expire, deps.windowMs),
      };
      watch.timer.unref();
      watches.set(run, watch);
    },
    observeAlert(entry) {
      if (stopped) return;
      for (const watch of watches.values()) {
        // Events from before the trigger started (by receipt or by Falco's clock) cannot be its detection.
        if (!isCandidate(watch, entry)) continue;
        // With Redis this replica's own alerts come twice (at once, then from the shared stream).
        if (seen(watch, entry.id)) continue;
        if (!tryMatch(watch, entry)) hold(watch, entry);
        if (allResolved(watch) && watch.run.status === 'succeeded') finish(watch);
      }
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
      if (allResolved(watch)) finish(watch);
    },
    stop() {
      stopped = true;
      for (const watch of watches.values()) clearTimeout(watch.timer);
    },
  };
}
