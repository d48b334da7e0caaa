import { Counter, Gauge, type Registry } from 'prom-client';

/** What the cluster primary counts itself, beside the workers' metrics (cluster-primary.ts). */
export interface PrimaryCounts {
  /** Workers the watchdog killed because their event loop stopped turning (worker-watchdog.ts). */
  killed: number;
  /** WORKERS: the workers the primary keeps running. */
  desired: number;
  /** Workers that have had all their listeners up and have not exited. */
  available: number;
  /** Workers that exited before all their listeners were up (worker_start_failed). */
  startFailures: number;
  /** Workers that exited while the pod was not stopping, started or not (each replaced). */
  exits: number;
}

/**
 * Adds the metrics only the primary knows to `registry`, the aggregate of the workers' metrics:
 * how many workers did not answer this scrape or failed to collect (`unanswered`), and how many there are.
 */
export function addPrimaryMetrics(registry: Registry, unanswered: number, counts: PrimaryCounts): void {
  const registers = [registry];
  new Gauge({
    name: 'falco_metrics_workers_unanswered',
    help: 'Cluster workers that did not answer this scrape in time (a stuck event loop) or answered that their collection failed: their last collected values are shown.',
    registers,
  }).set(unanswered);
  // A pair, as kube-state-metrics' desired and available replicas: an alert compares them.
  new Gauge({
    name: 'falco_cluster_workers_desired',
    help: 'Cluster workers the primary keeps running (WORKERS; with WORKERS=0, one per CPU).',
    registers,
  }).set(counts.desired);
  new Gauge({
    name: 'falco_cluster_workers_available',
    help: 'Cluster workers with all their listeners up that have not exited: below falco_cluster_workers_desired while a replacement starts or keeps failing to.',
    registers,
  }).set(counts.available);
  new Counter({
    name: 'falco_cluster_workers_killed_total',
    help: 'Cluster workers the primary killed (and replaced) because their event loop did not turn for WORKER_STUCK_TIMEOUT_MS.',
    registers,
  }).inc(counts.killed);
  new Counter({
    name: 'falco_cluster_worker_start_failures_total',
    help: 'Cluster workers that exited before all their listeners were up (worker_start_failed); the primary starts another, each time twice as late, at most 30 s after.',
    registers,
  }).inc(counts.startFailures);
  // A worker that starts and then crashes again and again is seen by no other: the back-off resets at
  // each start, and available dips only for the second before its replacement is up.
  new Counter({
    name: 'falco_cluster_worker_exits_total',
    help: 'Cluster workers that exited (crashed, killed, or failed to start) while the pod was not stopping; each was replaced.',
    registers,
  }).inc(counts.exits);
}
