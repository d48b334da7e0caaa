// @ts-check
import { drawBarChart } from './charts.js';
import { FETCH_TIMEOUT_MS } from './alert-feed.js';
import { describeFailure } from './dom.js';
import { createFrameTask } from './frame-task.js';
import { priorityClass } from './alert-fields.js';
import { createSummaryModel, ruleBars } from './summary-model.js';
import { createTimelineChart } from './timeline-chart.js';

/** @typedef {import('./alert-fields.js').AlertItem} AlertItem */

// Live alerts update the numbers at once; this reload now and then drops what left the window.
const IDLE_MS = 15000;
const MAX_PENDING = 1000;
// With the store full live alerts evict counted ones, and a rule outside the top list cannot be
// ranked by the page: the counts are taken again this soon after.
const STALE_RELOAD_MS = 1000;
// After a reload that failed the Overview shows no counts: the next is tried after 1 s, then 2, 4
// and 8, and at IDLE_MS from then on (a 429 or 503 under a burst had blanked it for 15 s).
const RETRY_FIRST_MS = 1000;

/**
 * The counts per priority, top rules and alerts over time in the chosen window (GET /ui/summary),
 * kept current by the live alerts given to addLive().
 * @param {{ select: HTMLSelectElement, total: HTMLElement, byPriority: HTMLElement, topRules: HTMLElement, timeline: HTMLElement }} parts
 */
export function createSummaryPanel(parts) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let staleTimer;
  /** @type {ReturnType<typeof createSummaryModel> | undefined} */
  let model;
  const timeline = createTimelineChart(parts.timeline);
  // A reload started before a window change must not overwrite the newer one.
  let loads = 0;
  // Reloads failed in a row.
  let failures = 0;
  let loading = false;
  // Live alerts that arrive while a reload is under way: the new counts may not hold them yet.
  /** @type {AlertItem[]} */
  let pending = [];
  // The name of the window `model` counts ("1 hour"): the select may have moved on since.
  let modelLabel = '';
  const charts = [parts.byPriority, parts.topRules, parts.timeline];

  const selectedLabel = () => parts.select.selectedOptions[0]?.textContent ?? parts.select.value;

  /**
   * Counts that are not those of the chosen window now (another window's, or a failed reload's):
   * dropped, so neither a live alert's redraw nor the label can show them as current, and the
   * charts dimmed until counts come.
   * @param {string} text what the total says instead
   */
  function withoutCounts(text) {
    model = undefined;
    pending = [];
    parts.total.textContent = text;
    for (const chart of charts) {
      chart.dataset.stale = 'true';
      // Their labels read out counts too (charts.js): hidden from screen readers as they are dimmed.
      chart.setAttribute('aria-hidden', 'true');
    }
  }

  function draw() {
    if (!model) return;
    const { summary } = model;
    parts.total.textContent = `${summary.total} alerts in the last ${modelLabel}.`;
    for (const chart of charts) {
      delete chart.dataset.stale;
      chart.removeAttribute('aria-hidden');
    }
    drawBarChart(
      parts.byPriority,
      summary.byPriority.map((row) => ({
        label: row.priority,
        value: row.count,
        className: priorityClass(row.priority),
      })),
      'Alerts per priority',
    );
    drawBarChart(parts.topRules, ruleBars(summary.topRules), 'Top rules');
    timeline.draw(summary.timeline);
  }

  // At most every 250 ms, as the list (alert-list.js): three charts redrawn at each frame of a burst.
  const drawLive = createFrameTask(draw, 250);

  // One reload at most per STALE_RELOAD_MS however many alerts come: a burst must not ask per alert.
  // A reload under way is not doubled: its own model says whether it needs another.
  function reloadWhenStale() {
    if (!model?.stale || loading || staleTimer !== undefined) return;
    staleTimer = setTimeout(() => void refresh(), STALE_RELOAD_MS);
  }

  async function refresh() {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), IDLE_MS);
    clearTimeout(staleTimer);
    staleTimer = undefined;
    const mine = ++loads;
    loading = true;
    const label = selectedLabel();
    let summary;
    /** @type {string | undefined} */
    let failure;
    try {
      const response = await fetch(`/ui/summary?window=${encodeURIComponent(parts.select.value)}`, {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      if (response.ok) summary = await response.json();
      else failure = await describeFailure(response);
    } catch {
      // The server is restarting or gone: say so and try again at the next refresh.
      failure = 'the server cannot be reached';
    } finally {
      if (mine === loads) loading = false;
    }
    // A reload started since (a window change) answers for the page now.
    if (mine !== loads) return;
    if (failure !== undefined) {
      withoutCounts(`Counts unavailable (${failure}).`);
      clearTimeout(timer);
      timer = setTimeout(() => void refresh(), Math.min(IDLE_MS, RETRY_FIRST_MS * 2 ** failures++));
      return;
    }
    failures = 0;
    model = createSummaryModel(summary);
    modelLabel = label;
    for (const item of pending) model.add(item);
    pending = [];
    draw();
    reloadWhenStale();
  }

  parts.select.addEventListener('change', () => {
    withoutCounts(`Counting the alerts of the last ${selectedLabel()}…`);
    void refresh();
  });

  return {
    refresh,
    /** @param {AlertItem} item a live alert: counted and drawn at once. */
    addLive(item) {
      if (loading && pending.length < MAX_PENDING) pending.push(item);
      if (model?.add(item)) drawLive();
      reloadWhenStale();
    },
  };
}
