import { Counter, Gauge, type Registry } from 'prom-client';
import { aggregateMetrics, type MetricJson } from './aggregate-metrics.js';
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
   * collected adds nothing), with `falco_metrics_workers_unanswered` set to `unanswered` and
   * `falco_cluster_workers_killed_total` to `killed` (the primary's watchdog, worker-watchdog.ts).
   */
  aggregate(unanswered: number, killed: number): Registry;
}

/** `maxRetiredSets`: label sets kept per metric for the workers gone (METRICS_MAX_SERIES). */
export function createCollectedMetrics(maxRetiredSets: number): CollectedMetrics {
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
    aggregate(unanswered, killed) {
      const registry = aggregateMetrics([retiredBeside(retired, last.values()), ...last.values()]);
      // The primary's own metric: only it knows which workers answered.
      new Gauge({
        name: 'falco_metrics_workers_unanswered',
        help: 'Cluster workers that did not answer this scrape in time (a stuck event loop): their last collected values are shown.',
        registers: [registry],
      }).set(unanswered);
      new Counter({
        name: 'falco_cluster_workers_killed_total',
        help: 'Cluster workers the primary killed (and replaced) because their event loop did not turn for WORKER_STUCK_TIMEOUT_MS.',
        registers: [registry],
      }).inc(killed);
      return registry;
    },
  };
}
