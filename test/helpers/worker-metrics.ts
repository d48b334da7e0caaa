import type { MetricJson } from '../../src/metrics/aggregate-metrics.js';
import { createMetrics, type Metrics, type MetricsOptions } from '../../src/metrics/metrics.js';

/** Small caps and no process metrics: a worker's registry whose output a test reads whole. */
export const WORKER_METRICS_OPTIONS: MetricsOptions = {
  maxRules: 10,
  maxHostnames: 10,
  maxSources: 10,
  extraLabels: [],
  maxExtraLabelValues: 10,
  maxSeries: 1000,
  processMetrics: false,
};

/** A worker's metrics, as `createMetrics` makes them in each cluster worker. */
export function createWorkerMetrics(options: Partial<MetricsOptions> = {}): Metrics {
  return createMetrics({ ...WORKER_METRICS_OPTIONS, ...options });
}

/** A worker's registry as the cluster primary gets it: JSON over the cluster's IPC channel. */
export async function sentToPrimary(worker: Metrics): Promise<MetricJson[]> {
  return JSON.parse(JSON.stringify(await worker.registry.getMetricsAsJSON())) as MetricJson[];
}

/** The lines of a metrics text that start with `prefix`, sorted. */
export const samples = (text: string, prefix: string): string[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .sort();
