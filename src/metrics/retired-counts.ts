import { combineMetrics, labelSetKey, type MetricJson, type Sample } from './aggregate-metrics.js';

const OVERFLOW = '__overflow__';

// A receipt time the pod still knows: when a worker ends, its siblings may hold older ones (or none)
// for the sensors it served, and the pod's max stepping back or vanishing would read as a change,
// or as no sensor at all, to FalcoSensorSilent (k8s/components/prometheus-operator).
const LASTING_GAUGES = new Set(['falco_sensor_last_alert_timestamp_seconds']);

// What a process counted stays counted after it ends, and so do the lasting gauges above (combined
// by their aggregator, max); any other gauge describes a process that is gone.
// (prom-client's types say an enum; the JSON holds the type's name.)
const lasts = (metric: MetricJson) =>
  ['counter', 'histogram'].includes(metric.type as unknown as string) || LASTING_GAUGES.has(metric.name);

// A histogram's buckets, sum and count are one label set: `le` apart, they share their labels.
const setKey = ({ le: _le, ...labels }: Sample['labels']) => labelSetKey(labels);
const overflowed = (labels: Sample['labels']) =>
  Object.fromEntries(Object.entries(labels).map(([name, value]) => [name, name === 'le' ? value : OVERFLOW]));

/** What bounds the departed workers' label sets. */
export interface RetiredLimits {
  /**
   * Label sets a metric keeps: as many as one worker may have of it (labelSetsPerProcess), or as
   * many as one worker reported, if more.
   */
  maxSets: (metric: string) => number;
  /** The live workers' last collected metrics: a label set one of them reports is never folded. */
  live: Iterable<readonly MetricJson[]>;
}

/**
 * `retired` (the counts of the workers gone so far) with a departed worker's last collected counts
 * added: its counters and histograms, combined by their exact labels, and its sensors' last receipt
 * times, by their max; its other gauges are dropped.
 *
 * A metric keeps as many label sets here as `maxSets` gives it (or the most one worker reported, if more),
 * plus the live workers' own, plus one, however many workers come and go with other label values.
 * Past that, a departed worker's new label sets are added into that one, with every label but `le`
 * set to `__overflow__`. A label set a live worker reports is never folded: its series would fall.
 */
export function addRetiredCounts(
  retired: MetricJson[],
  departed: readonly MetricJson[],
  limits: RetiredLimits,
): MetricJson[] {
  const known = new Map(retired.map((metric) => [metric.name, metric.values as Sample[]]));
  const live = new Map<string, Set<string>>();
  for (const worker of limits.live)
    for (const metric of worker) {
      const keys = live.get(metric.name) ?? new Set<string>();
      for (const sample of metric.values as Sample[]) keys.add(setKey(sample.labels));
      live.set(metric.name, keys);
    }
  const added = departed.filter(lasts).map((metric) => {
    const values = metric.values as Sample[];
    const sets = new Set((known.get(metric.name) ?? []).map((sample) => setKey(sample.labels)));
    const kept = live.get(metric.name);
    const reported = new Set(values.map((sample) => setKey(sample.labels))).size;
    const limit = Math.max(limits.maxSets(metric.name), reported, sets.size);
    const capped = values.map((sample) => {
      const key = setKey(sample.labels);
      if (sets.has(key)) return sample;
      if (sets.size < limit || kept?.has(key)) {
        sets.add(key);
        return sample;
      }
      return { ...sample, labels: overflowed(sample.labels) };
    });
    return { ...metric, values: capped };
  });
  return combineMetrics([retired, added]);
}

/**
 * `retired` as an aggregate shows it beside the live workers' metrics: a lasting gauge's receipt
 * times are left out while a live worker folds that gauge's label values into `__overflow__` (its
 * METRICS_MAX_HOSTNAMES reached): a sensor a departed worker had a series of its own for may now be
 * counted there, and its own series, kept unchanged, would read as a silent sensor (before they were
 * kept, they went with the worker: what is shown then).
 */
export function retiredBeside(retired: MetricJson[], live: Iterable<readonly MetricJson[]>): MetricJson[] {
  const folding = new Set<string>();
  for (const worker of live)
    for (const metric of worker)
      if (
        LASTING_GAUGES.has(metric.name) &&
        (metric.values as Sample[]).some((sample) => Object.values(sample.labels).includes(OVERFLOW))
      )
        folding.add(metric.name);
  return folding.size === 0 ? retired : retired.filter((metric) => !folding.has(metric.name));
}
