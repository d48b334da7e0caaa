import type { MetricJson } from './aggregate-metrics.js';

// A worker's scrape to the primary and its answer; the primary's call for each worker's metrics and theirs.
export const REQUEST = 'falco-receiver:metrics-request';
export const RESPONSE = 'falco-receiver:metrics-response';
export const COLLECT = 'falco-receiver:metrics-collect';
export const COLLECTED = 'falco-receiver:metrics-collected';
/** How long a worker waits for the primary's aggregate before its scrape fails. */
export const TIMEOUT_MS = 5_000;
/**
 * How long the primary waits for each worker's metrics. A worker that has not answered by then (a
 * stuck event loop) is shown by its last collected metrics, well within the worker's TIMEOUT_MS
 * and Prometheus' default 10 s scrape timeout, instead of failing the scrape.
 */
export const WORKER_ANSWER_MS = 2_000;
/**
 * How long the primary serves an aggregate again to the workers' renders: each worker serves its
 * render again for 1 s as well (METRICS_REUSE_MS), so a scrape may see counts up to about 2 s old;
 * Prometheus scrapes every 15-60 s.
 */
export const AGGREGATE_REUSE_MS = 1_000;
/**
 * How often the primary collects every worker's metrics between scrapes. A worker that dies (a
 * crash, an OOM kill, the watchdog) takes with it only what it counted since the last collection:
 * at most this long, not everything since Prometheus' last scrape (15 s to minutes).
 */
export const COLLECT_EVERY_MS = 5_000;
/**
 * At most one `worker_metrics_collect_failed` line per worker per this many milliseconds, with the
 * count since the line before (the first failure at once): a collection that keeps failing fails
 * at every collection and scrape, every few seconds.
 */
export const COLLECT_FAILED_LOG_EVERY_MS = 60_000;

/** A worker's scrape, sent to the primary. */
export interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}

/** The primary's answer to a worker's scrape: the aggregate text, or why there is none. */
export interface MetricsResponse {
  type: typeof RESPONSE;
  id: number;
  text?: string;
  error?: string;
}

/** The primary's call for a worker's metrics. */
export interface CollectRequest {
  type: typeof COLLECT;
  id: number;
}

/** A worker's answer to a collection: its registry as JSON, or why there is none. */
export interface Collected {
  type: typeof COLLECTED;
  id: number;
  metrics?: MetricJson[];
  error?: string;
}

/** Renders the Prometheus text a scrape gets. */
export type RenderMetrics = () => Promise<string>;
