import express from 'express';
import type { AlertStore } from '../../alerts/alert-store.js';
import { presentAlertJson } from '../../alerts/serialize-alert.js';
import { buildProblem, sendProblem } from '../problem.js';
import { sendAlertExport, parseExportFormat } from './alert-export.js';
import { writeAlertList } from '../write-alert-list.js';
import { READ_RETRY_AFTER_SECONDS, type ReadBudget } from '../read-budget.js';
import { parseAlertQuery } from './query-params.js';

/**
 * `GET /alerts` (filtered, newest first, at most `maxBytes`; `format=ndjson|csv` downloads the same
 * list) and `GET /alerts/:id`, written from the stored JSON texts.
 */
export function createAlertsRouter(
  store: AlertStore,
  options: { maxBytes: number; budget: ReadBudget },
): express.Router {
  const { maxBytes, budget } = options;
  const router = express.Router();

  router.get('/alerts', async (req, res) => {
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
    // Materialised up to QUERY_MAX_BYTES (and one alert past it, so the cut is seen), then held
    // until the client has read them: within the readers' shared budget.
    const entries = await store.query({ ...parsed.query, maxBytes });
    // The client left while the store answered: nothing to write, nothing to hold.
    if (res.destroyed) return;
    const refused = budget.admit(
      res,
      entries.reduce((sum, entry) => sum + entry.bytes, 0),
    );
    if (refused) {
      res.setHeader('Retry-After', String(READ_RETRY_AFTER_SECONDS));
      sendProblem(res, refused);
      return;
    }
    if (format.format === 'json') await writeAlertList(res, entries, maxBytes);
    else await sendAlertExport(res, format.format, entries, { nowMs: Date.now(), maxBytes });
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
    res.status(200).type('application/json').set('Cache-Control', 'no-store').send(presentAlertJson(entry));
  });

  return router;
}
