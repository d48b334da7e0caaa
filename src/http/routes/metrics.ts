import express from 'express';
import type { Registry } from 'prom-client';

/** `GET /metrics` in the Prometheus text format, from the app's own registry. */
export function createMetricsRouter(registry: Registry): express.Router {
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
