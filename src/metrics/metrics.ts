import { Registry, collectDefaultMetrics } from 'prom-client';
import { createAlertLabelCaps, type AlertLabelLimits } from './alert-label-caps.js';
import { registerAlertMetrics } from './alert-metrics.js';
import { createAlertRecorder, type AlertRecorder } from './alert-recorder.js';
import { registerHttpMetrics, type HttpMetrics } from './http-metrics.js';

/** The limits on the alert metrics' labels and series, and whether to collect process metrics. */
export interface MetricsOptions extends AlertLabelLimits {
  /** Default process metrics (off in some tests to keep output small). */
  processMetrics?: boolean;
}

/** The service's metrics on a registry of its own (never prom-client's global one). */
export interface Metrics extends AlertRecorder, HttpMetrics {
  registry: Registry;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  // Registered in the order /metrics lists them: the alert metrics, then the HTTP ones. A read of
  // the alert metrics first hands prom-client the alerts counted since the last read (countPending,
  // alert-recorder.ts).
  const alertMetrics = registerAlertMetrics(registry, options.extraLabels, () => countPending());
  const http = registerHttpMetrics(registry);
  const { countPending, recordAlert, recordRejected } = createAlertRecorder(
    alertMetrics,
    createAlertLabelCaps(alertMetrics, options),
  );

  return { registry, recordAlert, recordRejected, ...http };
}
