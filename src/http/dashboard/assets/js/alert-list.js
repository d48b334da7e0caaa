// @ts-check
import { el } from './dom.js';
import { formatTime, matchesText, priorityClass, workloadOf } from './alert-fields.js';

/** @typedef {import('./alert-fields.js').AlertItem} AlertItem */

// The page keeps at most this many rows; the server keeps more (GET /alerts?limit=).
const MAX_ROWS = 500;

/**
 * @param {AlertItem} item
 * @param {(item: AlertItem, row: HTMLTableRowElement) => void} onOpen
 */
function buildRow(item, onOpen) {
  const { alert } = item;
  const workload = workloadOf(item);
  const where = [workload.namespace, workload.pod, workload.container].filter(Boolean).join(' / ');
  const row = el(
    'tr',
    {
      tabindex: 0,
      className: 'alert-row',
      'data-id': item.id,
      'aria-label': `${alert.priority} ${alert.rule}`,
    },
    [
      el('td', { className: 'time' }, [el('time', { datetime: alert.time, text: formatTime(alert.time) })]),
      el('td', {}, [
        el('span', { className: `badge ${priorityClass(alert.priority)}`, text: alert.priority }),
      ]),
      el('td', { className: 'rule', text: alert.rule }),
      el('td', { className: 'source', text: item.source }),
      el('td', { text: alert.hostname ?? '' }),
      el('td', { className: 'workload', text: where }),
    ],
  );
  row.addEventListener('click', () => onOpen(item, row));
  row.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onOpen(item, row);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = event.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling;
      if (next instanceof HTMLElement) next.focus();
    }
  });
  return row;
}

/**
 * The table of alerts, newest first, with a free-text filter applied on the page.
 * @param {HTMLTableSectionElement} tbody
 * @param {HTMLElement} status
 * @param {(item: AlertItem, row: HTMLTableRowElement) => void} onOpen
 */
export function createAlertList(tbody, status, onOpen) {
  /** @type {Map<string, { item: AlertItem, row: HTMLTableRowElement }>} */
  const rows = new Map();
  let text = '';

  function updateStatus() {
    let shown = 0;
    for (const { row } of rows.values()) if (!row.hidden) shown += 1;
    status.textContent = rows.size === 0 ? 'No alerts yet.' : `Showing ${shown} of ${rows.size} alerts.`;
  }

  function trim() {
    while (rows.size > MAX_ROWS) {
      const last = tbody.lastElementChild;
      if (!(last instanceof HTMLTableRowElement)) break;
      rows.delete(last.dataset.id ?? '');
      last.remove();
    }
  }

  /**
   * @param {AlertItem} item
   * @param {'top' | 'bottom'} where
   */
  function insert(item, where) {
    if (rows.has(item.id)) return;
    const row = buildRow(item, onOpen);
    row.hidden = !matchesText(item, text);
    rows.set(item.id, { item, row });
    if (where === 'top') tbody.prepend(row);
    else tbody.append(row);
  }

  return {
    /** Empties the table (before loading with other filters). */
    clear() {
      rows.clear();
      tbody.replaceChildren();
      updateStatus();
    },
    /** @param {AlertItem} item a live alert: newest, so on top. */
    addLive(item) {
      insert(item, 'top');
      trim();
      updateStatus();
    },
    /** @param {AlertItem[]} items newest first, from GET /alerts: older than any live row already shown. */
    addLoaded(items) {
      for (const item of items) insert(item, 'bottom');
      trim();
      updateStatus();
    },
    /** @param {string} value */
    setText(value) {
      text = value.trim().toLowerCase();
      for (const { item, row } of rows.values()) row.hidden = !matchesText(item, text);
      updateStatus();
    },
  };
}
