import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { REJECT_REASONS } from '../alerts/parse-falco-alert.js';
import { ExactCounter } from './exact-counter.js';
import type { ExtraLabel } from './extra-labels.js';

const DELAY_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
// From CLOCK_AHEAD_MIN_MS (1 s) up: a few seconds of drift, minutes, an hour (a time zone), a day.
const CLOCK_AHEAD_BUCKETS = [2, 5, 30, 60, 300, 3600, 86400];

/** The metrics of the alerts the service accepts and refuses, and of the caps on their labels. */
export interface AlertMetrics {
  overflow: Counter<'metric' | 'label'>;
  seriesOverflow: Counter<'metric'>;
  alerts: ExactCounter<string>;
  rejected: Counter<'reason'>;
  delay: Histogram<'source'>;
  clockAhead: Histogram<'source'>;
  lastAlert: Gauge<'hostname'>;
}

/**
 * Registers the alert metrics on `registry`, in the order /metrics lists them. `collect` runs before
 * any read of the metrics that counted alerts reach late (alert-recorder.ts).
 */
export function registerAlertMetrics(
  registry: Registry,
  extraLabels: readonly ExtraLabel[],
  collect: () => void,
): AlertMetrics {
  const overflow = new Counter({
    name: 'falco_metrics_label_overflow_total',
    help: 'Label values replaced by __overflow__ because a label reached its cap of distinct values.',
    labelNames: ['metric', 'label'],
    registers: [registry],
    collect,
  });
  const seriesOverflow = new Counter({
    name: 'falco_metrics_series_overflow_total',
    help: 'Observations counted under __overflow__ labels because the metric reached its cap of series (METRICS_MAX_SERIES).',
    labelNames: ['metric'],
    registers: [registry],
    collect,
  });
  const extraNames = extraLabels.map((extra) => extra.label);
  // Its label values come from the alerts: series kept apart by their exact values (exact-counter.ts).
  const alerts = new ExactCounter({
    name: 'falco_alerts_total',
    help: 'Falco alerts accepted, by rule, priority and event source.',
    labelNames: ['rule', 'priority', 'source', ...extraNames],
    registers: [registry],
    collect,
  });
  const rejected = new Counter({
    name: 'falco_alerts_rejected_total',
    help: 'Ingest requests refused, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const delay = new Histogram({
    name: 'falco_alert_delivery_delay_seconds',
    help: "Receive time minus the alert's own time: Falco output backlog plus clock skew (an alert stamped later than received counts as 0, and, 1 s or more later, in falco_alert_clock_ahead_seconds; one stamped more than a week earlier counts as a week).",
    labelNames: ['source'],
    buckets: DELAY_BUCKETS,
    registers: [registry],
    collect,
  });
  // Observed only for alerts stamped at least CLOCK_AHEAD_MIN_MS after their receipt, which no
  // delivery backlog explains: the sending sensor's clock runs ahead (their delay counts as 0).
  const clockAhead = new Histogram({
    name: 'falco_alert_clock_ahead_seconds',
    help: "How far an alert's own time was ahead of its receipt, for alerts stamped 1 s or more after this service received them: the sensor's clock runs ahead (the alert's log line says by how much; more than a week counts as a week).",
    labelNames: ['source'],
    buckets: CLOCK_AHEAD_BUCKETS,
    registers: [registry],
  });
  const lastAlert = new Gauge({
    name: 'falco_sensor_last_alert_timestamp_seconds',
    help: 'When the last alert from each Falco sensor (hostname) was received, as a Unix timestamp.',
    labelNames: ['hostname'],
    // Across cluster workers the newest receipt wins; a sum of timestamps would be meaningless.
    aggregator: 'max',
    registers: [registry],
    collect,
  });
  for (const reason of REJECT_REASONS) rejected.inc({ reason }, 0);
  seriesOverflow.inc({ metric: 'falco_alerts_total' }, 0);
  return { overflow, seriesOverflow, alerts, rejected, delay, clockAhead, lastAlert };
}
