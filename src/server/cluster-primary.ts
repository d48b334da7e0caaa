import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { AlertLabelLimits } from '../metrics/alert-label-caps.js';
import { serveClusterMetrics } from '../metrics/serve-cluster-metrics.js';
import { onWorkerMessage } from './cluster-message.js';
import { rememberServedTls } from './cluster-tls-files.js';
import { closeOrphanedHandoffs } from './orphaned-handoffs.js';
import { watchWorkers } from './worker-watchdog.js';

const READY = 'falco-receiver:ready';
/** The longest wait before replacing a worker after failed starts in a row (the wait doubles). */
export const MAX_RESTART_DELAY_MS = 30_000;

/**
 * Worker side: tells the primary that every listener is up (PORT, TLS_PORT, ADMIN_PORT). Only
 * then is the worker known to start; one that exits before it would fail the same way again.
 */
export function announceReady(): void {
  process.send?.({ type: READY });
}

export interface ClusterPrimaryOptions {
  workers: number;
  logger: Logger;
  /** A worker whose event loop has not turned for this long is killed and replaced; 0 = never. */
  stuckTimeoutMs: number;
  /** Each worker's label caps (METRICS_MAX_*): label sets kept per metric for the workers gone. */
  metricsLimits: AlertLabelLimits;
  /** Wait before replacing a crashed worker, so a crash loop cannot spin the CPU. */
  restartDelayMs?: number;
}

/**
 * Runs the cluster primary: forks the workers (each runs the whole app on the shared port),
 * aggregates their metrics, replaces a worker that dies or whose event loop stops turning, and on SIGTERM/SIGINT passes SIGTERM
 * to every worker (each drains gracefully) and exits once all have: 0 when all exited cleanly.
 */
export function runClusterPrimary(options: ClusterPrimaryOptions): void {
  const { logger } = options;
  // The workers that have had all their listeners up and have not exited.
  const started = new Set<number>();
  // Some worker has had all its listeners up: the configuration and the ports are good, so a
  // replacement that dies before it is up met something passing (memory, a kill), not a bad setup.
  let everStarted = false;
  // Failed starts in a row (the back-off), and in all (falco_cluster_worker_start_failures_total).
  let failedStarts = 0;
  let startFailures = 0;
  // Exits while not stopping, started or not (falco_cluster_worker_exits_total).
  let exits = 0;
  let stopping = false;
  let failed = false;
  const restartDelayMs = options.restartDelayMs ?? 1000;

  const watchdog = watchWorkers({ timeoutMs: options.stuckTimeoutMs, logger });
  serveClusterMetrics({
    counts: () => ({
      killed: watchdog.killed(),
      desired: options.workers,
      available: started.size,
      startFailures,
      exits,
    }),
    limits: options.metricsLimits,
    logger,
  });
  // Each worker is told what the workers up serve on TLS_PORT, to serve the same (cluster-tls-files.ts).
  const workerEnv = rememberServedTls();
  const fork = () => closeOrphanedHandoffs(cluster.fork(workerEnv()));
  // Not from a worker that has exited: it would stay in `started`, counted available for good.
  onWorkerMessage<{ type: typeof READY }>(READY, (worker) => {
    started.add(worker.id);
    everStarted = true;
    failedStarts = 0;
  });
  cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
    // Forgotten once gone, while stopping too: a scrape of a worker still draining counts those left.
    const wasUp = started.delete(worker.id);
    // How the stop went: a worker that died earlier was logged and replaced, and says nothing of it.
    // One that was still starting (its SIGTERM handler not yet set) dies by the signal, undrained but
    // with nothing to drain.
    const clean = code === 0 || (signal === 'SIGTERM' && !wasUp);
    if (stopping && !clean) failed = true;
    logger.info({ event: 'worker_exit', worker: worker.id, code, signal }, 'worker exited');
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
      return;
    }
    exits += 1;
    if (!wasUp) {
      // A worker of the first start that never had all its listeners up (a port taken, bad
      // config) would fail again: stop instead of looping. node:cluster's 'listening' comes with
      // the first listener only. Once one has started, the workers still up keep serving (stopping
      // them would refuse Falco's alerts until the pod is back), and the replacement is retried,
      // each time twice as late. So is one that met TLS files the workers up refuse at their reload
      // (loadTlsCredentials): it starts once the files load.
      startFailures += 1;
      const retryInMs = everStarted
        ? Math.min(restartDelayMs * 2 ** ++failedStarts, MAX_RESTART_DELAY_MS)
        : undefined;
      logger.error(
        { event: 'worker_start_failed', worker: worker.id, retryInMs },
        'worker exited before all its listeners were up',
      );
      if (retryInMs === undefined) {
        failed = true;
        stop('SIGTERM');
      } else replaceAfter(retryInMs);
      return;
    }
    replaceAfter(restartDelayMs);
  });

  // Not unref'd: when every worker has died at once, this timer is all that keeps the primary
  // running (it exited 0, leaving no process to serve).
  const replaceAfter = (ms: number) =>
    setTimeout(() => {
      if (!stopping) fork();
    }, ms);

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    // The watchdog keeps watching: a draining worker's loop turns (its heartbeats go on), and one
    // that is stuck never runs its SIGTERM handler, so it would hold the primary open forever.
    logger.info({ event: 'signal', signal }, 'signal received; stopping workers');
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(failed ? 1 : 0);
    for (const worker of workers) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  logger.info({ event: 'cluster_started', workers: options.workers }, 'starting cluster workers');
  for (let i = 0; i < options.workers; i++) fork();
}
