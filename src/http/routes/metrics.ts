import express from 'express';
import type { Registry } from 'prom-client';

/**
 * `GET /metrics` in the Prometheus text format, from the app's own registry, or from `render`
 * when given (a cluster worker serves the aggregate of all workers).
 */
export function createMetricsRouter(registry: Registry, render?: () => Promise<string>): express.Router {
  const router = express.Router();
  const metrics = render ?? (() => registry.metrics());
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await metrics());
  });
  return router;
}
