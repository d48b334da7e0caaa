import { PRIORITIES } from '../alerts/priority.js';
import type { AlertMetrics } from './alert-metrics.js';
import type { ExtraLabel } from './extra-labels.js';
import { LabelCap } from './label-cap.js';
import { SeriesCap } from './series-cap.js';

/** How many values each label of the alert metrics may take, and how many series they may have. */
export interface AlertLabelLimits {
  maxRules: number;
  maxHostnames: number;
  maxSources: number;
  extraLabels: readonly ExtraLabel[];
  maxExtraLabelValues: number;
  /** Most series of `falco_alerts_total`, overflow series included. */
  maxSeries: number;
}

/** The caps on the alert metrics' labels and series; each counts what it replaces by `__overflow__`. */
export interface AlertLabelCaps {
  rules: LabelCap;
  sources: LabelCap;
  hostnames: LabelCap;
  /** One per extra label: its `output_fields` key, its label name and its cap. */
  extraCaps: (ExtraLabel & { cap: LabelCap })[];
  alertSeries: SeriesCap;
}

/**
 * The most label sets one process gives `metric`: its label caps and `__overflow__` for the
 * metrics whose label values alerts choose by one label, `maxSeries` for the rest (falco_alerts_total,
 * and the metrics whose labels are fixed sets). The cluster primary keeps no more of the workers gone.
 */
export function labelSetsPerProcess(limits: AlertLabelLimits): (metric: string) => number {
  const bounds = new Map([
    ['falco_alert_delivery_delay_seconds', limits.maxSources + 1],
    ['falco_alert_clock_ahead_seconds', limits.maxSources + 1],
    ['falco_sensor_last_alert_timestamp_seconds', limits.maxHostnames + 1],
  ]);
  return (metric) => bounds.get(metric) ?? limits.maxSeries;
}

/** The caps of `limits`, counting their overflow on the overflow counters of `metrics`. */
export function createAlertLabelCaps(
  { overflow, seriesOverflow }: AlertMetrics,
  limits: AlertLabelLimits,
): AlertLabelCaps {
  const cap = (metric: string, label: string, limit: number) => {
    // Exported at 0 from the start: a series whose first sample already counts shows no increase(),
    // so a burst that filled the cap before a scrape would go unseen.
    overflow.inc({ metric, label }, 0);
    return new LabelCap(limit, (uses) => overflow.inc({ metric, label }, uses));
  };

  const rules = cap('falco_alerts_total', 'rule', limits.maxRules);
  const sources = cap('falco_alerts_total', 'source', limits.maxSources);
  const hostnames = cap('falco_sensor_last_alert_timestamp_seconds', 'hostname', limits.maxHostnames);
  const extraCaps = limits.extraLabels.map((extra) => ({
    ...extra,
    cap: cap('falco_alerts_total', extra.label, limits.maxExtraLabelValues),
  }));
  // Each label's cap bounds its values, not their product: this bounds the product.
  const alertSeries = new SeriesCap(limits.maxSeries, { priority: PRIORITIES.length }, (uses) =>
    seriesOverflow.inc({ metric: 'falco_alerts_total' }, uses),
  );
  return { rules, sources, hostnames, extraCaps, alertSeries };
}
