import { combineMetrics, labelSetKey, type MetricJson, type Sample } from './aggregate-metrics.js';

const OVERFLOW = '__overflow__';

// What a process counted stays counted after it ends; a gauge describes a process that is gone.
// (prom-client's types say an enum; the JSON holds the type's name.)
const counts = (metric: MetricJson) => ['counter', 'histogram'].includes(metric.type as unknown as string);

// A histogram's buckets, sum and count are one label set: `le` apart, they share their labels.
const setKey = ({ le: _le, ...labels }: Sample['labels']) => labelSetKey(labels);
const overflowed = (labels: Sample['labels']) =>
  Object.fromEntries(Object.entries(labels).map(([name, value]) => [name, name === 'le' ? value : OVERFLOW]));

/**
 * `retired` (the counts of the workers gone so far) with a departed worker's last collected counts
 * added: its counters and histograms, combined by their exact labels; its gauges are dropped.
 *
 * A metric keeps as many label sets here as the most any worker reported for it, plus one: the
 * caps that bound a worker's series (METRICS_MAX_SERIES, the label caps) bound these too, however
 * many workers come and go with other label values. Past that, a worker's new label sets are added
 * into that one, with every label but `le` set to `__overflow__`.
 */
export function addRetiredCounts(retired: MetricJson[], departed: readonly MetricJson[]): MetricJson[] {
  const known = new Map(retired.map((metric) => [metric.name, metric.values as Sample[]]));
  const added = departed.filter(counts).map((metric) => {
    const values = metric.values as Sample[];
    const sets = new Set((known.get(metric.name) ?? []).map((sample) => setKey(sample.labels)));
    const limit = Math.max(new Set(values.map((sample) => setKey(sample.labels))).size, sets.size);
    const capped = values.map((sample) => {
      const key = setKey(sample.labels);
      if (sets.has(key)) return sample;
      if (sets.size < limit) {
        sets.add(key);
        return sample;
      }
      return { ...sample, labels: overflowed(sample.labels) };
    });
    return { ...metric, values: capped };
  });
  return combineMetrics([retired, added]);
}
