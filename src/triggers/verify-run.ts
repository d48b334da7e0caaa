import type { StoredAlert } from '../alerts/stored-alert.js';
import type { TriggerMetrics } from './trigger-metrics.js';
import type { TriggerRun } from './trigger-run.js';

/** An expected detection: the rule, and what else an alert must show to belong to this run. */
export interface ExpectedDetection {
  rule: string;
  matches(entry: StoredAlert): boolean;
}

/** Matches alerts from the feed to runs waiting for them; a run's expectations end detected or missed. */
export interface Verifier {
  /** Starts the window for `run` (its expectations become pending); `startMs` is trigger start. */
  watch(run: TriggerRun, expected: ExpectedDetection[], startMs: number): void;
  /** Feed listener: resolves every pending expectation this alert satisfies. */
  observeAlert(entry: StoredAlert): void;
  /** Stops every window timer (shutdown); pending expectations stay pending. */
  stop(): void;
}

interface Watch {
  run: TriggerRun;
  expected: ExpectedDetection[];
  startMs: number;
  timer: NodeJS.Timeout;
}

export function createVerifier(deps: { metrics: TriggerMetrics; windowMs: number }): Verifier {
  const watches = new Set<Watch>();

  const finish = (watch: Watch) => {
    clearTimeout(watch.timer);
    watches.delete(watch);
  };
  const expire = (watch: Watch) => {
    // A run whose trigger failed says nothing about Falco: not_run, and not counted as missed.
    const failed = watch.run.status === 'failed';
    for (const expectation of watch.run.verification.expectations) {
      if (expectation.status !== 'pending') continue;
      expectation.status = failed ? 'not_run' : 'missed';
      if (!failed) deps.metrics.recordVerification(watch.run.kind, 'missed');
    }
    finish(watch);
  };

  return {
    watch(run, expected, startMs) {
      run.verification = {
        windowMs: deps.windowMs,
        expectations: expected.map(({ rule }) => ({ rule, status: 'pending' })),
      };
      if (expected.length === 0) return;
      const watch: Watch = { run, expected, startMs, timer: setTimeout(() => expire(watch), deps.windowMs) };
      watch.timer.unref();
      watches.add(watch);
    },
    observeAlert(entry) {
      for (const watch of watches) {
        // Alerts from before the trigger started cannot be its detection.
        if (entry.receivedAtMs < watch.startMs) continue;
        watch.expected.forEach((expected, index) => {
          const expectation = watch.run.verification.expectations[index];
          if (!expectation || expectation.status !== 'pending') return;
          if (entry.rule !== expected.rule || !expected.matches(entry)) return;
          const latencyMs = entry.receivedAtMs - watch.startMs;
          Object.assign(expectation, { status: 'detected', alertId: entry.id, latencyMs });
          deps.metrics.recordVerification(watch.run.kind, 'detected', latencyMs);
        });
        if (watch.run.verification.expectations.every((e) => e.status !== 'pending')) finish(watch);
      }
    },
    stop() {
      for (const watch of watches) finish(watch);
    },
  };
}
