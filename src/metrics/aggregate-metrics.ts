import { Registry, type Aggregator, type Metric } from 'prom-client';

/** One metric as a worker's `registry.getMetricsAsJSON()` gives it. */
export type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];
type Sample = MetricJson['values'][number] & { metricName?: string };

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

// A series is its sample name (a histogram's `_bucket`, `_sum`...) and its exact label set.
const seriesKey = (sample: Sample) =>
  JSON.stringify([sample.metricName ?? '', Object.entries(sample.labels).sort(byName)]);

/**
 * The workers' metrics as one registry, as prom-client's `AggregatorRegistry.aggregate` makes it
 * (each metric's samples combined by its `aggregator`), but with series matched by their exact
 * labels: prom-client matches them by `name:value,` joined and unescaped, which merges label sets
 * a client can choose, as an alert's do (see ExactCounter).
 */
export function aggregateMetrics(workers: readonly MetricJson[][]): Registry {
  const metrics = new Map<string, MetricJson[]>();
  for (const worker of workers) {
    for (const metric of worker) {
      const reported = metrics.get(metric.name);
      if (reported) reported.push(metric);
      else metrics.set(metric.name, [metric]);
    }
  }
  const registry = new Registry();
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
    const aggregated = { name, help, type, aggregator, values };
    // Registered as prom-client registers its own aggregate: an object whose `get` gives the samples.
    registry.registerMetric({ ...aggregated, get: () => aggregated } as unknown as Metric);
  }
  return registry;
}
