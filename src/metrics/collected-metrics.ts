import type { Registry } from 'prom-client';
import { aggregateMetrics, type MetricJson } from './aggregate-metrics.js';
import { addPrimaryMetrics, type PrimaryCounts } from './primary-metrics.js';
import { addRetiredCounts, retiredBeside } from './retired-counts.js';

/**
 * What the cluster primary keeps of its workers' metrics, so that no counter it shows decreases:
 * each live worker's last collected metrics, and the counts of the workers gone.
 */
export interface CollectedMetrics {
  /** A worker's answer to a collection: its metrics now, in place of the ones before. */
  record(worker: number, metrics: MetricJson[]): void;
  /**
   * A worker has left: its last collected counters and histograms, and its sensors' last receipt
   * times (while no live worker folds hostnames into `__overflow__`), stay in every later
   * aggregate; its other gauges go. What it counted after that collection
   * is lost. Again for one worker: nothing.
   */
  retire(worker: number): void;
  /**
   * The sum over the workers gone and each live worker's last collected metrics (a worker never
   * collected adds nothing), with `falco_metrics_workers_unanswered` set to `unanswered` and the
   * primary's own `counts` beside (primary-metrics.ts).
   */
  aggregate(unanswered: number, counts: PrimaryCounts): Registry;
}

/** `maxRetiredSets`: label sets kept per metric for the workers gone (labelSetsPerProcess). */
export function createCollectedMetrics(maxRetiredSets: (metric: string) => number): CollectedMetrics {
  const last = new Map<number, MetricJson[]>();
  let retired: MetricJson[] = [];
  return {
    record(worker, metrics) {
      last.set(worker, metrics);
    },
    retire(worker) {
      const metrics = last.get(worker);
      if (!metrics) return;
      last.delete(worker);
      retired = addRetiredCounts(retired, metrics, { maxSets: maxRetiredSets, live: last.values() });
    },
    aggregate(unanswered, counts) {
      const registry = aggregateMetrics([retiredBeside(retired, last.values()), ...last.values()]);
      // The primary's own metrics: only it knows which workers answered, and how many there are.
      addPrimaryMetrics(registry, unanswered, counts);
      return registry;
    },
  };
}
