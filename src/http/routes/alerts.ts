import express from 'express';
import type { AlertStore } from '../../alerts/alert-store.js';
import { presentAlert } from '../../alerts/serialize-alert.js';
import { buildProblem, sendProblem } from '../problem.js';
import { sendJson } from '../send-json.js';
import { parseAlertQuery } from './query-params.js';

/** `GET /alerts` (filtered, newest first) and `GET /alerts/:id`. */
export function createAlertsRouter(store: AlertStore): express.Router {
  const router = express.Router();

  router.get('/alerts', async (req, res) => {
    const parsed = parseAlertQuery(req.query);
    if (!parsed.ok) {
      sendProblem(res, parsed.problem);
      return;
    }
    const alerts = (await store.query(parsed.query)).map(presentAlert);
    sendJson(res, 200, { count: alerts.length, alerts });
  });

  router.get('/alerts/:id', async (req, res) => {
    const entry = await store.get(req.params.id);
    if (!entry) {
      sendProblem(
        res,
        buildProblem('not-found', {
          detail: 'No alert with that id is held (the store keeps recent alerts only).',
        }),
      );
      return;
    }
    sendJson(res, 200, presentAlert(entry));
  });

  return router;
}
