import express from 'express';
import type { AlertStore } from '../../alerts/alert-store.js';
import { presentAlertJson } from '../../alerts/serialize-alert.js';
import { cutAlertList } from '../alert-list-budget.js';
import { buildProblem, sendProblem } from '../problem.js';
import { sendAlertExport, parseExportFormat } from './alert-export.js';
import { writeAlertList } from '../write-alert-list.js';
import { admitOrRefuse, type ReadBudget } from '../read-budget.js';
import { parseAlertQuery } from './query-params.js';

/**
 * `GET /alerts` (filtered, newest first, at most `maxBytes`; `format=ndjson|csv` downloads the same
 * list) and `GET /alerts/:id`, written from the stored JSON texts.
 */
export function createAlertsRouter(
  store: AlertStore,
  options: { maxBytes: number; budget: ReadBudget; bodyLimitBytes: number },
): express.Router {
  const { maxBytes, budget, bodyLimitBytes } = options;
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
    // The list is read into memory (up to QUERY_MAX_BYTES, and one alert past it, so the cut is
    // seen) and held until the client has read it: within the readers' shared budget, reserved
    // before the store is read at what it can hold (`limit` alerts of at most a body each, or
    // QUERY_MAX_BYTES), then settled at what it read. Requests pipelined on one connection each
    // read the store before any of them is written: read first and admitted after, sixty lists of
    // 3 MB ran a 128 MB heap out of memory.
    if (!admitOrRefuse(budget, res, Math.min(maxBytes, parsed.query.limit * bodyLimitBytes))) return;
    const entries = await store.query({ ...parsed.query, maxBytes });
    // The client left while the store answered: nothing to write (its reservation is given back).
    if (res.destroyed) return;
    budget.settle(
      res,
      entries.reduce((sum, entry) => sum + entry.bytes, 0),
    );
    // One cut for the three formats: a download holds what the JSON answer lists.
    const cut = cutAlertList(entries, maxBytes);
    if (format.format === 'json') await writeAlertList(res, cut.alerts, cut.truncated);
    else await sendAlertExport(res, format.format, cut, Date.now());
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
