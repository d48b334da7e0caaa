import express from 'express';
import type { AlertStore } from '../../alerts/alert-store.js';
import { presentAlert } from '../../alerts/serialize-alert.js';
import { buildProblem, sendProblem } from '../problem.js';
import { sendJson } from '../send-json.js';
import { parseExportFormat, sendAlertExport } from './alert-export.js';
import { parseAlertQuery } from './query-params.js';

/** `GET /alerts` (filtered, newest first; `format=ndjson|csv` downloads the same list) and `GET /alerts/:id`. */
export function createAlertsRouter(store: AlertStore): express.Router {
  const router = express.Router();

  router.get('/alerts', (req, res) => {
    const parsed = parseAlertQuery(req.query);
    if (!parsed.ok) {
      sendProblem(res, parsed.problem);
      return;
    }
    const format = parseExportFormat(req.query.format);
    if (!format.ok) {
      sendProblem(res, format.problem);
      return;
    }
    if (format.format !== 'json') {
      sendAlertExport(res, format.format, store.query(parsed.query), Date.now());
      return;
    }
    const alerts = store.query(parsed.query).map(presentAlert);
    sendJson(res, 200, { count: alerts.length, alerts });
  });

  router.get('/alerts/:id', (req, res) => {
    const entry = store.get(req.params.id);
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
