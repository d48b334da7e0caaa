// @ts-check
import { drawBarChart } from './charts.js';
import { describeFailure } from './dom.js';
import { priorityClass } from './alert-fields.js';

// Counts change with every alert: refresh at most this often, and now and then while idle.
const SOON_MS = 1000;
const IDLE_MS = 15000;

/**
 * The counts per priority and top rules over the chosen window (GET /ui/summary).
 * @param {{ select: HTMLSelectElement, total: HTMLElement, byPriority: HTMLElement, topRules: HTMLElement }} parts
 */
export function createSummaryPanel(parts) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let dueAt = 0;

  /** @param {number} delayMs */
  function schedule(delayMs) {
    clearTimeout(timer);
    dueAt = Date.now() + delayMs;
    timer = setTimeout(() => void refresh(), delayMs);
  }

  async function refresh() {
    schedule(IDLE_MS);
    let summary;
    try {
      const response = await fetch(`/ui/summary?window=${encodeURIComponent(parts.select.value)}`);
      if (!response.ok) {
        parts.total.textContent = `Counts unavailable (${await describeFailure(response)}).`;
        return;
      }
      summary = await response.json();
    } catch {
      // The server is restarting or gone: say so and try again at the next refresh.
      parts.total.textContent = 'Counts unavailable (the server cannot be reached).';
      return;
    }
    const label = parts.select.selectedOptions[0]?.textContent ?? parts.select.value;
    parts.total.textContent = `${summary.total} alerts in the last ${label}.`;
    drawBarChart(
      parts.byPriority,
      summary.byPriority.map((/** @type {{priority: string, count: number}} */ row) => ({
        label: row.priority,
        value: row.count,
        className: priorityClass(row.priority),
      })),
      'Alerts per priority',
    );
    drawBarChart(
      parts.topRules,
      summary.topRules.map((/** @type {{rule: string, count: number}} */ row) => ({
        label: row.rule,
        value: row.count,
        className: 'bar-rule',
      })),
      'Top rules',
    );
  }

  parts.select.addEventListener('change', () => void refresh());

  return {
    refresh,
    /** Asks for a refresh within a second; a burst of alerts causes one request a second, not one each. */
    refreshSoon() {
      if (dueAt > Date.now() + SOON_MS) schedule(SOON_MS);
    },
  };
}
