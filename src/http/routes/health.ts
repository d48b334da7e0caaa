import express from 'express';
import type { Lifecycle } from '../../server/lifecycle.js';

/** `GET /healthz` (the process is alive) and `GET /readyz` (503 once shutting down). */
export function createHealthRouter(lifecycle: Lifecycle): express.Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    if (lifecycle.isReady()) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'shutting down' });
  });
  return router;
}
