import express from 'express';
import type { RenderMetrics } from '../../metrics/cluster-metrics.js';
import type { ReadBudget } from '../read-budget.js';
import { shareResult } from '../../metrics/share-result.js';
import { writeInPieces } from '../write-paced.js';

/**
 * How long a rendered `/metrics` is served again. Prometheus scrapes every 15-60 s and never sees
 * a reused render; scrapes in parallel or in a loop cost one render a second instead of one each
 * (a render of full label caps holds the event loop for hundreds of milliseconds).
 */
export const METRICS_REUSE_MS = 1_000;

/** The body of `GET /metrics`, encoded once for every scrape that shares it. */
export type MetricsBody = () => Promise<Buffer>;

/**
 * `render` shared by every scrape: one render at a time, served to the scrapes that come while it
 * runs and for METRICS_REUSE_MS after. Built once for all listeners (ADMIN_PORT), so they share it.
 */
export function shareMetricsRender(render: RenderMetrics): MetricsBody {
  return shareResult(async () => Buffer.from(await render()), { reuseMs: METRICS_REUSE_MS });
}

/**
 * How long a `/metrics` answer may go without its reader taking a byte before its connection is
 * cut off (at most QUERY_STALL_TIMEOUT_MS). Prometheus reads a scrape at once, and gives up on it
 * after its scrape_timeout (10 s by default).
 */
export const METRICS_STALL_MS = 10_000;

/**
 * `GET /metrics` in the Prometheus text format, from `body`: the app's own registry, or in a
 * cluster worker the aggregate of all workers. A render (under 3 MB at the label caps) is shared
 * by the scrapes of its second, and each answer pins its render until it is taken whole: one
 * connection a second that never read, or that read a few bytes at a time (never stalled), held a
 * render each (found by review). So `budget` bounds the renders held for answers not yet done to
 * METRICS_MAX_PINNED_BYTES, the oldest render's readers cut off past it (a new scrape is always
 * served, and Prometheus, which reads a scrape at once, is cut off only if still reading once
 * that many bytes of newer renders were made, at most one a second), and cuts off a reader that
 * takes no byte for METRICS_STALL_MS. It reserves no bytes, so readers of alerts and scrapers
 * never refuse each other (a reservation per scrape counted one shared render once per answer,
 * and refused Prometheus while readers held the budget: found by review).
 */
export function createMetricsRouter(
  contentType: string,
  body: MetricsBody,
  budget?: ReadBudget,
): express.Router {
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    const text = await body();
    budget?.watch(res, text, METRICS_STALL_MS);
    res.status(200).type(contentType);
    await writeInPieces(res, text);
  });
  return router;
}
