import { Registry, type Aggregator, type Metric } from 'prom-client';

/** One metric as a worker's `registry.getMetricsAsJSON()` gives it, through IPC (as JSON: no `collect`). */
export type MetricJson = Omit<Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number], 'collect'>;
/** One sample of a metric: a series' value (a histogram's by its `_bucket`, `_sum`... name). */
export type Sample = MetricJson['values'][number] & { metricName?: string };

const total = (values: number[]) => values.reduce((sum, value) => sum + value, 0);
// prom-client's aggregators, by the names a metric's `aggregator` gives; `omit` leaves it out.
const AGGREGATORS: Record<Aggregator, ((values: number[]) => number) | undefined> = {
  sum: total,
  first: (values) => values[0]!,
  min: (values) => Math.min(...values),
  max: (values) => Math.max(...values),
  average: (values) => total(values) / values.length,
  omit: undefined,
};

const byName = ([a]: [string, unknown], [b]: [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0);

const sortedLabels = (labels: Sample['labels']) => Object.entries(labels).sort(byName);

/** A label set as one key: the same labels in any order make it, no other labels or values do. */
export const labelSetKey = (labels: Sample['labels']) => JSON.stringify(sortedLabels(labels));

// A series is its sample name (a histogram's `_bucket`, `_sum`...) and its exact label set.
const seriesKey = (sample: Sample) => JSON.stringify([sample.metricName ?? '', sortedLabels(sample.labels)]);

/**
 * The workers' metrics combined as prom-client's `AggregatorRegistry.aggregate` combines them (each
 * metric's samples by its `aggregator`), but with series matched by their exact labels: prom-client
 * matches them by `name:value,` joined and unescaped, which merges label sets a client can choose,
 * as an alert's do (see ExactCounter). Metrics whose aggregator is `omit` are left out.
 */
export function combineMetrics(workers: readonly MetricJson[][]): MetricJson[] {
  const metrics = new Map<string, MetricJson[]>();
  for (const worker of workers) {
    for (const metric of worker) {
      const reported = metrics.get(metric.name);
      if (reported) reported.push(metric);
      else metrics.set(metric.name, [metric]);
    }
  }
  const combined: MetricJson[] = [];
  for (const [name, reported] of metrics) {
    const aggregator = reported[0]!.aggregator ?? 'sum';
    if (!Object.hasOwn(AGGREGATORS, aggregator)) throw new Error(`${name}: no aggregator ${aggregator}`);
    const combine = AGGREGATORS[aggregator];
    if (!combine) continue;
    const series = new Map<string, { sample: Sample; values: number[] }>();
    for (const metric of reported) {
      for (const sample of metric.values as Sample[]) {
        const key = seriesKey(sample);
        const found = series.get(key);
        if (found) found.values.push(sample.value);
        else series.set(key, { sample, values: [sample.value] });
      }
    }
    const values = [...series.values()].map(({ sample, values }) => ({
      ...(sample.metricName === undefined ? {} : { metricName: sample.metricName }),
      labels: sample.labels,
      value: combine(values),
    }));
    const { help, type } = reported[0]!;
    combined.push({ name, help, type, aggregator, values });
  }
  return combined;
}

/** The workers' metrics, combined by `combineMetrics`, as one registry. */
export function aggregateMetrics(workers: readonly MetricJson[][]): Registry {
  const registry = new Registry();
  // Registered as prom-client registers its own aggregate: an object whose `get` gives the samples.
  for (const aggregated of combineMetrics(workers))
    registry.registerMetric({ ...aggregated, get: () => aggregated } as unknown as Metric);
  return registry;
}
