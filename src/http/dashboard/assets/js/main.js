// @ts-check
// Entry point of the dashboard page: wires the alert list, its live stream, the filters, the
// counts and (when the server enables triggers) the trigger panel.
import { createAlertDetails } from './alert-details.js';
import { FETCH_TIMEOUT_MS, followAlerts, loadAlerts } from './alert-feed.js';
import { workloadOf } from './alert-fields.js';
import { createAlertList } from './alert-list.js';
import { byId } from './dom.js';
import { setupFilters } from './filters.js';
import { isSignedOut, loadSession } from './session.js';
import { createSuggestions } from './suggestions.js';
import { createSummaryPanel } from './summary-panel.js';
import { setupTriggerPanel } from './trigger-panel.js';

/** @typedef {import('./alert-fields.js').AlertItem} AlertItem */

const connection = byId('connection', HTMLElement);
const details = createAlertDetails(byId('details', HTMLElement));
/** @type {(name: string, value: string) => void} */
let filterBy = () => {};
const list = createAlertList(
  byId('alert-rows', HTMLTableSectionElement),
  byId('list-status', HTMLElement),
  (item, row) => details.show(item, row),
  (name, value) => filterBy(name, value),
);
const summary = createSummaryPanel({
  select: byId('summary-window', HTMLSelectElement),
  total: byId('summary-total', HTMLElement),
  byPriority: byId('chart-priority', HTMLElement),
  topRules: byId('chart-rules', HTMLElement),
  timeline: byId('chart-timeline', HTMLElement),
});
const exportLinks = [byId('export-ndjson', HTMLAnchorElement), byId('export-csv', HTMLAnchorElement)];
const suggestions = {
  rule: createSuggestions(byId('rule-names', HTMLDataListElement)),
  source: createSuggestions(byId('source-names', HTMLDataListElement)),
  hostname: createSuggestions(byId('hostname-names', HTMLDataListElement)),
  namespace: createSuggestions(byId('namespace-names', HTMLDataListElement)),
  tag: createSuggestions(byId('tag-names', HTMLDataListElement)),
};

/** @param {AlertItem} item */
function remember(item) {
  suggestions.rule.add(item.alert.rule);
  suggestions.source.add(item.source);
  suggestions.hostname.add(item.alert.hostname);
  suggestions.namespace.add(workloadOf(item).namespace);
  if (Array.isArray(item.alert.tags)) for (const tag of item.alert.tags) suggestions.tag.add(tag);
}

/** @type {() => void} */
let stopFollowing = () => {};
// Each change of filters starts a new view; a slower, older load must not fill the new one.
let view = 0;
// After a refused stream the view starts over after this pause, doubled at each refusal in a row.
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 60000;
let retryMs = RETRY_FIRST_MS;
// The server's STREAM_HEARTBEAT_MS (from /ui/config.json): a stream silent for longer is dead.
let heartbeatMs = 15000;

/**
 * The server refused the stream (the session expired, too many streams from this address, a
 * proxy's 502 while the receiver restarts): the stream gives up on those for good. Signed out,
 * the reload shows the sign-in page; else the view starts over, as it was, after a pause.
 * @param {URLSearchParams} filters
 * @param {number} lost the view whose stream was refused
 */
async function recover(filters, lost) {
  if (await isSignedOut()) {
    window.location.reload();
    return;
  }
  const pause = retryMs;
  retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  setTimeout(() => {
    if (lost !== view) return;
    void show(filters);
  }, pause);
}

/**
 * Follows the stream first and loads what came before once the server has subscribed it, so
 * nothing falls between the two (an alert stored between the list's read and the stream's start
 * would be in neither).
 * @param {URLSearchParams} filters
 */
async function show(filters) {
  view += 1;
  const mine = view;
  stopFollowing();
  list.clear();
  showExportLinks(filters);
  connection.textContent = 'Connecting…';
  // The Overview counts every alert: while the list is narrowed, its one stream also brings the
  // alerts outside the filters (one stream per page, not two, against the per-address limit).
  const narrowed = filters.toString() !== '';
  const following = followAlerts(filters, {
    heartbeatMs,
    onAlert(item) {
      remember(item);
      list.addLive(item);
      summary.addLive(item);
    },
    ...(narrowed ? { onOther: summary.addLive } : {}),
    // Alerts were missed that the replay cannot bring: load the list again, on a new stream, and
    // the Overview, which missed them too.
    onTruncated() {
      if (mine !== view) return;
      void show(filters);
    },
    onStatus(status, filtersRefused) {
      connection.textContent = { live: 'Live', reconnecting: 'Reconnecting…', closed: 'Disconnected' }[
        status
      ];
      connection.dataset.status = status;
      connection.title = '';
      if (status === 'live') retryMs = RETRY_FIRST_MS;
      // Filters the server refused (too long for its request line) are refused again: no retry.
      if (status === 'closed' && mine === view && !filtersRefused) void recover(filters, mine);
    },
    // Why, while this view still shows the refusal (not once a retry is live or another view began).
    onRefused(reason) {
      if (mine !== view || connection.dataset.status !== 'closed') return;
      connection.textContent = `Disconnected: ${reason}`;
      connection.title = reason;
    },
  });
  stopFollowing = following.stop;
  await following.answered;
  if (mine !== view) return;
  // The Overview counts from the new stream on: what came after the stream before it closed (a
  // change of filters, a refusal, a gap the replay cannot fill) is in neither, so it is read again.
  void summary.refresh();
  let loaded = await loadAlerts(filters);
  // A refusal can pass (the shared store back, the readers' budget free: 503 with Retry-After):
  // the list is asked for again, each wait twice the last, while this view is shown.
  let waitMs = RETRY_FIRST_MS;
  while (!loaded.ok) {
    if (mine !== view) return;
    // Asked again, the same filters would be refused again: the user has to change them.
    if (loaded.filtersRefused) {
      byId('list-status', HTMLElement).textContent =
        `These filters cannot be applied (${loaded.message}): shorten or clear them.`;
      return;
    }
    const seconds = Math.round(waitMs / 1000);
    byId('list-status', HTMLElement).textContent =
      `Could not load alerts (${loaded.message}); trying again in ${seconds} s.`;
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    waitMs = Math.min(waitMs * 2, RETRY_MAX_MS);
    if (mine !== view) return;
    loaded = await loadAlerts(filters);
  }
  if (mine !== view) return;
  loaded.alerts.forEach(remember);
  list.addLoaded(loaded.alerts, loaded.truncated);
}

/**
 * Points the download links at the list's filters (the free text stays on the page).
 * @param {URLSearchParams} filters
 */
function showExportLinks(filters) {
  for (const link of exportLinks) {
    const query = new URLSearchParams(filters);
    query.set('format', link.id === 'export-csv' ? 'csv' : 'ndjson');
    query.set('limit', '1000');
    link.href = `/alerts?${query}`;
  }
}

/** @returns {Promise<{ triggersEnabled: boolean, priorities: string[], heartbeatMs?: number }>} */
async function loadConfig() {
  try {
    const response = await fetch('/ui/config.json', { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    const config = response.ok ? await response.json() : {};
    return {
      triggersEnabled: config.triggersEnabled === true,
      priorities: Array.isArray(config.priorities) ? config.priorities : [],
      heartbeatMs:
        Number.isFinite(config.heartbeatMs) && config.heartbeatMs > 0 ? config.heartbeatMs : undefined,
    };
  } catch {
    return { triggersEnabled: false, priorities: [] };
  }
}

async function start() {
  const [config, session] = await Promise.all([loadConfig(), loadSession(byId('session', HTMLElement))]);
  const filters = setupFilters(
    byId('filters', HTMLFormElement),
    config.priorities,
    { onServerFilters: (next) => void show(next), onText: (text) => list.setText(text) },
    {
      rule: suggestions.rule.exactValue,
      source: suggestions.source.exactValue,
      hostname: suggestions.hostname.exactValue,
      namespace: suggestions.namespace.exactValue,
      tag: suggestions.tag.exactValue,
    },
  );
  filterBy = filters.filterBy;
  heartbeatMs = config.heartbeatMs ?? heartbeatMs;
  void show(filters.serverFilters());
  if (config.triggersEnabled) {
    setupTriggerPanel(byId('trigger-form', HTMLFormElement), byId('trigger-output', HTMLElement), session);
    byId('triggers', HTMLElement).hidden = false;
  }
}

void start();
