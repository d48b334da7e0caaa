import express from 'express';
import type { RenderMetrics } from '../../metrics/cluster-metrics.js';
import { admitOrRefuse, type ReadBudget } from '../read-budget.js';
import { shareResult } from '../share-result.js';

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
 * `GET /metrics` in the Prometheus text format, from `body`: the app's own registry, or in a
 * cluster worker the aggregate of all workers. Held within the readers' `budget` until its client
 * has read it, as alert lists are: a render is up to 2.8 MB at the label caps, a new one each
 * METRICS_REUSE_MS, and answers pipelined on connections that never read kept theirs.
 */
export function createMetricsRouter(
  contentType: string,
  body: MetricsBody,
  budget?: ReadBudget,
): express.Router {
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    const text = await body();
    if (budget && !admitOrRefuse(budget, res, text.length)) return;
    res.type(contentType).send(text);
  });
  return router;
}
