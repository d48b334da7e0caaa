import { Counter, Histogram, type Registry } from 'prom-client';
import { TRIGGER_KINDS, type TriggerKind } from './trigger-run.js';

/**
 * Trigger metrics; labels are bounded (two kinds, three outcomes, two results). A run is counted
 * once, by the replica that ends it (with a shared store, once that end is saved: run-registry.ts),
 * or (failed, or cancelled when that was asked for) by the one that settles it when its own replica
 * stopped, or was cut off from the store past its lease, while it ran (adopt-orphans.ts). Each expectation's result is counted once
 * too, by the replica that holds the run when it resolves (with a shared store, once saved).
 */
export interface TriggerMetrics {
  /** cancelled: the run was cancelled on request (it reads failed, its error naming the cancellation). */
  recordRun(kind: TriggerKind, outcome: 'succeeded' | 'failed' | 'cancelled'): void;
  /**
   * A negative control's result (a shell without a terminal, which Falco must not report) goes to
   * falco_trigger_controls_total instead: its `missed` is the control holding, its `detected` a
   * verification or Falco gone wrong, and neither says whether canaries are detected.
   */
  recordVerification(
    kind: TriggerKind,
    result: 'detected' | 'missed',
    latencyMs?: number,
    control?: boolean,
  ): void;
}

const LATENCY_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];

export function createTriggerMetrics(registry: Registry): TriggerMetrics {
  const runs = new Counter({
    name: 'falco_trigger_runs_total',
    help: 'Trigger runs finished, by kind and outcome (failed: a command or API step failed, or the replica running it stopped; cancelled: on request).',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
  });
  const verifications = new Counter({
    name: 'falco_trigger_verifications_total',
    help: 'Expected detections of trigger runs, by kind and result (detected: counted once the run succeeded; missed: not within the window).',
    labelNames: ['kind', 'result'],
    registers: [registry],
  });
  const controls = new Counter({
    name: 'falco_trigger_controls_total',
    help: 'Negative control runs (a shell without a terminal) resolved, by result (quiet: Falco did not report it, as it must not; reported: it did, so verification or Falco is wrong).',
    labelNames: ['result'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'falco_trigger_detection_latency_seconds',
    help: 'Time from trigger start to receipt of the matching Falco alert.',
    labelNames: ['kind'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  // Zero series exist from the start, so rate() and absent() alerts work before the first run.
  for (const kind of TRIGGER_KINDS) {
    for (const outcome of ['succeeded', 'failed', 'cancelled']) runs.inc({ kind, outcome }, 0);
    for (const result of ['detected', 'missed']) verifications.inc({ kind, result }, 0);
  }
  for (const result of ['quiet', 'reported']) controls.inc({ result }, 0);
  return {
    recordRun: (kind, outcome) => runs.inc({ kind, outcome }),
    recordVerification(kind, result, latencyMs, control) {
      if (control) {
        controls.inc({ result: result === 'detected' ? 'reported' : 'quiet' });
        return;
      }
      verifications.inc({ kind, result });
      if (result === 'detected' && latencyMs !== undefined) latency.observe({ kind }, latencyMs / 1000);
    },
  };
}
