import express from 'express';
import type { AlertStore } from '../../alerts/alert-store.js';
import { PRIORITIES } from '../../alerts/priority.js';
import { toJson } from '../../alerts/serialize-alert.js';
import { sendProblem } from '../problem.js';
import { admitOrRefuse, type ReadBudget } from '../read-budget.js';
import { parseQueryString } from '../routes/query-params.js';
import { sendJson } from '../send-json.js';
import { shareResult } from '../../metrics/share-result.js';
import { setDashboardHeaders } from './security-headers.js';
import { DEFAULT_ASSETS_DIR, loadDashboardAssets } from './static-assets.js';
import {
  SUMMARY_WINDOW_NAMES,
  SUMMARY_WINDOWS,
  summarizeWindow,
  type AlertSummary,
  type SummaryWindow,
} from './summarize-alerts.js';
import { summaryQuerySchema } from './summary-query.js';

/** What the dashboard needs. */
export interface DashboardOptions {
  store: AlertStore;
  /** STORE_MAX_ALERTS: the summary tells the page how many more alerts fit before counted ones go. */
  storeMaxAlerts: number;
  /** Whether the page shows the trigger panel (the `/triggers` API is mounted and answers). */
  triggersEnabled: boolean;
  /** The readers' budget (QUERY_MAX_INFLIGHT_BYTES): a summary is held until its client has read it. */
  readBudget?: ReadBudget;
  /** STREAM_HEARTBEAT_MS: the page takes a stream silent for 2.5 heartbeats for dead. */
  heartbeatMs?: number;
  /** Folder of the page's files; defaults to the one beside this module. */
  assetsDir?: string;
  now?: () => number;
}

// The server's default STREAM_HEARTBEAT_MS, for a router built without one (tests).
const DEFAULT_HEARTBEAT_MS = 15_000;

type Summaries = Record<SummaryWindow, () => Promise<AlertSummary>>;

// One summary per window at a time: requests that come while it is taken share it (with Redis, a
// read of the whole window each). Only those: a later request takes a new one, so `asOf` stays the
// moment the page counts its live alerts from.
function shareSummaries(store: AlertStore, maxAlerts: number, now: () => number): Summaries {
  const take = (window: SummaryWindow) => async () => {
    const nowMs = now();
    const sinceMs = nowMs - SUMMARY_WINDOWS[window];
    const fill = { held: await store.count(), maxAlerts, bytes: store.byteFill?.(sinceMs) };
    return summarizeWindow(store, window, nowMs, fill);
  };
  const shared = SUMMARY_WINDOW_NAMES.map((window) => [window, shareResult(take(window), { reuseMs: 0 })]);
  return Object.fromEntries(shared) as Summaries;
}

/**
 * The browser dashboard: `GET /` (the page), `/ui/*` (its script and style), `GET /ui/config.json`
 * (what the page may show, and Falco's priorities for the filter) and `GET /ui/summary?window=` (counts for the charts).
 */
export function createDashboardRouter(options: DashboardOptions): express.Router {
  const router = express.Router();
  const summaries = shareSummaries(options.store, options.storeMaxAlerts, options.now ?? Date.now);

  for (const asset of loadDashboardAssets(options.assetsDir ?? DEFAULT_ASSETS_DIR)) {
    router.get(asset.route, setDashboardHeaders, asset.handler);
  }

  router.get('/ui/config.json', setDashboardHeaders, (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    sendJson(res, 200, {
      triggersEnabled: options.triggersEnabled,
      priorities: PRIORITIES,
      heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    });
  });

  // Under /ui rather than /alerts/summary: the core `GET /alerts/:id` is mounted first and would answer it.
  router.get('/ui/summary', setDashboardHeaders, async (req, res) => {
    const parsed = parseQueryString(summaryQuerySchema, req.query);
    if (!parsed.ok) {
      sendProblem(res, parsed.problem);
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    const json = toJson(await summaries[parsed.data.window]());
    // Held until its client has read it, as an alert list is: up to about 64 KB (ten rules of 1,024
    // control characters, six bytes each as JSON), and 40 pipelined on each of 720 connections that
    // did not read took the process from 150 to 226 MB, still rising (found by review).
    if (options.readBudget && !admitOrRefuse(options.readBudget, res, Buffer.byteLength(json))) return;
    res.type('application/json').send(json);
  });

  return router;
}
