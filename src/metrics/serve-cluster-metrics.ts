import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { isMessage } from '../server/cluster-message.js';
import {
  AGGREGATE_REUSE_MS,
  COLLECT,
  COLLECT_EVERY_MS,
  COLLECTED,
  REQUEST,
  RESPONSE,
  WORKER_ANSWER_MS,
  type Collected,
  type CollectRequest,
  type MetricsRequest,
  type MetricsResponse,
} from './cluster-metrics.js';
import { labelSetsPerProcess, type AlertLabelLimits } from './alert-label-caps.js';
import { createCollectedMetrics } from './collected-metrics.js';
import type { PrimaryCounts } from './primary-metrics.js';
import { shareResult } from './share-result.js';
import { logWorkerCollections } from './worker-collection-lines.js';

/**
 * Primary side: answers a worker's scrape with the sum over every worker, so whichever worker
 * the scrape lands on, Prometheus sees one consistent series (counters and histograms summed,
 * gauges by their own aggregator). It gathers the workers' registries itself, as prom-client's
 * AggregatorRegistry would, to combine them by exact labels (aggregate-metrics.ts), and keeps
 * what it gathered, so that a worker's leaving, hanging or failing to collect lowers no counter (collected-metrics.ts).
 * It also gathers them every COLLECT_EVERY_MS, so a worker that dies loses at most that much.
 */
export function serveClusterMetrics(options: {
  /** The primary's own counts now, shown beside the workers' (primary-metrics.ts). */
  counts: () => PrimaryCounts;
  /** The label caps of each worker: the primary keeps no more label sets of the workers gone. */
  limits: AlertLabelLimits;
  logger: Logger;
}): void {
  const { counts, logger } = options;
  const collected = createCollectedMetrics(labelSetsPerProcess(options.limits));
  const lines = logWorkerCollections(logger);
  // Each collection under way, told of each worker's answer, or (no message) of its leaving.
  const collecting = new Map<number, (worker: Worker, message?: Collected) => void>();
  let nextId = 0;
  // Collects every connected worker's registry; resolves with how many did not answer in time, or
  // answered with an error.
  const collect = () =>
    new Promise<number>((resolve) => {
      const workers = Object.values(cluster.workers ?? {}).filter(
        (worker) => worker?.isConnected() && !worker.isDead(),
      );
      if (workers.length === 0) return resolve(0);
      const id = nextId++;
      // A worker that leaves before it answers is not waited for: no answer can come, and its
      // last collected counts are kept as the retired ones.
      const awaited = new Set(workers.map((worker) => worker!.id));
      let failed = 0;
      const end = () => {
        clearTimeout(timer);
        collecting.delete(id);
        resolve(awaited.size + failed);
      };
      const startedAt = performance.now();
      const timer = setTimeout(() => {
        // Not when the primary itself did not run (a paused container): the answers wait unread.
        if (performance.now() - startedAt < 2 * WORKER_ANSWER_MS)
          for (const worker of workers) if (awaited.has(worker!.id)) lines.unanswered(worker!);
        end();
      }, WORKER_ANSWER_MS);
      collecting.set(id, (worker, message) => {
        // Only while awaited: an answer after the worker left must not bring back counts retired.
        if (!awaited.delete(worker.id)) return;
        if (message) lines.answered(worker, message.error);
        // A worker whose collection failed (a metric's collect() threw) is shown as one that did not
        // answer, by its last collected metrics: it failed the whole scrape before, the others' counts too.
        if (message?.error !== undefined) failed++;
        else if (message) collected.record(worker.id, message.metrics ?? []);
        if (awaited.size === 0) end();
      });
      for (const worker of workers) worker?.send({ type: COLLECT, id } satisfies CollectRequest);
    });
  // 'exit' too: a worker killed while stopped (SIGSTOP) was seen to exit with no 'disconnect'.
  const left = (worker: Worker) => {
    for (const answer of [...collecting.values()]) answer(worker);
    lines.left(worker);
    try {
      collected.retire(worker.id);
    } catch (error) {
      // A worker's malformed metrics must not end the primary (this runs in a cluster event).
      logger.error(
        { err: error, event: 'worker_metrics_retire_failed', worker: worker.id },
        'could not keep the counts of a worker that left',
      );
    }
  };
  cluster.on('disconnect', left);
  cluster.on('exit', left);
  setInterval(() => void collect(), COLLECT_EVERY_MS).unref();
  // Each worker shares its renders among its own scrapes, but each worker's render was a collection
  // from every worker and an aggregate of their series: scrapes in a loop spread over the workers
  // cost WORKERS of them a second (found by review: 10 in 5 s with WORKERS=2), and each worker
  // serialized its registry WORKERS times a second. One is shared by the renders of every worker.
  const aggregate = shareResult(
    () => collect().then((unanswered) => collected.aggregate(unanswered, counts()).metrics()),
    { reuseMs: AGGREGATE_REUSE_MS },
  );
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (isMessage<Collected>(message, COLLECTED)) return collecting.get(message.id)?.(worker, message);
    if (!isMessage<MetricsRequest>(message, REQUEST)) return;
    const reply = (body: Omit<MetricsResponse, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: RESPONSE, id: message.id, ...body });
    };
    aggregate().then(
      (text) => reply({ text }),
      (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }),
    );
  });
}
