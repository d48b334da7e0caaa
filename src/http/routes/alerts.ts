import express from 'express';
import type { AlertStore } from '../../alerts/alert-store.js';
import { presentAlertJson } from '../../alerts/serialize-alert.js';
import { cutAlertList } from '../alert-list-budget.js';
import { buildProblem, sendProblem } from '../problem.js';
import { sendAlertExport, parseExportFormat } from './alert-export.js';
import { writeAlertList } from '../write-alert-list.js';
import { writePaced } from '../write-paced.js';
import { admitOrRefuse, type ReadBudget } from '../read-budget.js';
import { parseAlertQuery } from './query-params.js';

const sendNotFound = (res: express.Response) =>
  sendProblem(
    res,
    buildProblem('not-found', {
      detail: 'No alert with that id is held (the store keeps recent alerts only).',
    }),
  );

/**
 * `GET /alerts` (filtered, newest first, at most `maxBytes`; `format=ndjson|csv` downloads the same
 * list) and `GET /alerts/:id`, written from the stored JSON texts within the readers' budget.
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
    // 3 MB ran a 128 MB heap out of memory. Past a run of unreadable entries, a shared store reads
    // texts ahead (readAheadBytes) up to this amount on top of the alerts it holds, so such a read
    // can hold up to about twice it for a moment, before the settle.
    const admitted = Math.min(maxBytes, parsed.query.limit * bodyLimitBytes);
    if (!admitOrRefuse(budget, res, admitted)) return;
    const found = await store.query({ ...parsed.query, maxBytes, readAheadBytes: admitted });
    // The client left while the store answered: nothing to write (its reservation is given back).
    if (res.destroyed) return;
    budget.settle(
      res,
      found.alerts.reduce((sum, entry) => sum + entry.bytes, 0),
    );
    // One cut for the three formats: a download holds what the JSON answer lists.
    const cut = cutAlertList(found, maxBytes);
    if (format.format === 'json') await writeAlertList(res, cut.alerts, cut.truncated);
    else await sendAlertExport(res, format.format, cut, Date.now());
  });

  router.get('/alerts/:id', async (req, res) => {
    const { id } = req.params;
    // One alert is held until its client has read it, within the readers' budget as a list is: at
    // its size when the store knows it unread, else at the most a body holds, settled once read.
    // Outside it, 100 reads of a 1.8 MB alert pipelined on one unread connection each read the
    // store and made a buffer of the text: 170 MB, and the loop held for 3.6 s.
    const known = store.bytesOf ? store.bytesOf(id) : bodyLimitBytes;
    if (known === undefined) {
      sendNotFound(res);
      return;
    }
    if (!admitOrRefuse(budget, res, known)) return;
    const entry = await store.get(id);
    // The client left while the store answered: nothing to write (its reservation is given back).
    if (res.destroyed) return;
    budget.settle(res, entry?.bytes ?? 0);
    if (!entry) {
      sendNotFound(res);
      return;
    }
    const text = presentAlertJson(entry);
    res.status(200).type('application/json').set('Cache-Control', 'no-store');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    // A piece at a time as the client reads (write-paced.ts), not one buffer of the whole text.
    if (await writePaced(res, [text])) res.end();
  });

  return router;
}
