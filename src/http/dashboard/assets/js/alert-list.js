// @ts-check
import { el, revealValue } from './dom.js';
import { formatTime, matchesText, outputOf, priorityClass, workloadOf } from './alert-fields.js';
import { createFrameTask } from './frame-task.js';

/** @typedef {import('./alert-fields.js').AlertItem} AlertItem */

// The page keeps at most this many rows; the server keeps more (GET /alerts?limit=).
const MAX_ROWS = 500;
// Each redraw of the list lays out the whole table (about 9 ms in headless Chromium) and each new
// row costs about 0.25 ms more: live alerts are added at most every FLUSH_EVERY_MS, at most
// FLUSH_MAX_ROWS at a time, oldest first. In a burst the list then runs up to a second or two
// behind (what it cannot show before MAX_ROWS newer ones come is dropped, as it would have scrolled
// off) instead of laying out the table at every frame: 10,000 alerts posted in 10-20 s kept the
// page busy all along, with tasks of up to 0.5-0.8 s.
const FLUSH_EVERY_MS = 250;
const FLUSH_MAX_ROWS = 100;
// A row shows this many of its alert's tags as chips, then how many more (the details list them
// all): an alert may carry 512 (ALERT_BOUNDS), and 300 such alerts in a burst held headless
// Chromium in tasks of up to 7.2 s, drawing 512 chips a row. Falco's own rules carry a handful.
const MAX_ROW_TAGS = 20;

/** @typedef {(name: 'rule' | 'hostname' | 'namespace' | 'tag', value: string) => void} OnFilter */

/**
 * A button that filters the list by one value; its text is the value as revealValue shows it.
 * @param {'rule' | 'hostname' | 'namespace' | 'tag'} name
 * @param {string} value
 * @param {string} className
 */
function filterButton(name, value, className) {
  const button = el('button', { type: 'button', className: `filter-by ${className}`, 'data-filter': name });
  button.dataset.value = value;
  button.title = `Show only ${name} ${revealValue(value)}`;
  button.textContent = revealValue(value);
  return button;
}

/**
 * @param {AlertItem} item
 * @param {(item: AlertItem, row: HTMLTableRowElement) => void} onOpen
 */
function buildRow(item, onOpen) {
  const { alert } = item;
  const workload = workloadOf(item);
  const podAndContainer = [workload.pod, workload.container].filter(Boolean).join(' / ');
  const output = outputOf(alert);
  const tags = Array.isArray(alert.tags) ? alert.tags.filter((tag) => typeof tag === 'string') : [];
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
      el('td', { className: 'rule' }, [filterButton('rule', alert.rule, 'rule-link')]),
      // One line cut with an ellipsis by the stylesheet; the whole text on hover and in the details.
      el('td', { className: 'output-cell' }, [
        el('span', { className: 'output-line', title: output, text: output }),
      ]),
      el('td', { className: 'source' }, [document.createTextNode(revealValue(item.source))]),
      el(
        'td',
        { className: 'host' },
        alert.hostname ? [filterButton('hostname', alert.hostname, 'host-link')] : [],
      ),
      el('td', { className: 'workload' }, [
        ...(workload.namespace ? [filterButton('namespace', workload.namespace, 'ns-link')] : []),
        ...(workload.namespace && podAndContainer ? [' / '] : []),
        podAndContainer,
      ]),
      el('td', { className: 'tags' }, [
        ...tags.slice(0, MAX_ROW_TAGS).map((tag) => filterButton('tag', tag, 'chip')),
        ...(tags.length > MAX_ROW_TAGS
          ? [el('span', { className: 'more-tags', text: `+${tags.length - MAX_ROW_TAGS} more` })]
          : []),
      ]),
    ],
  );
  row.addEventListener('click', (event) => {
    // A filter button inside the row filters (handled by the table); anywhere else opens the details.
    if (event.target instanceof Element && event.target.closest('button.filter-by')) return;
    onOpen(item, row);
  });
  row.addEventListener('keydown', (event) => {
    if (event.target !== row) return;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onOpen(item, row);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      // Past the rows the free text hides: focus() on a hidden row does nothing.
      const step = (/** @type {Element} */ at) =>
        event.key === 'ArrowDown' ? at.nextElementSibling : at.previousElementSibling;
      let next = step(row);
      while (next instanceof HTMLElement && next.hidden) next = step(next);
      if (next instanceof HTMLElement) next.focus();
    }
  });
  return row;
}

/**
 * The table of alerts, newest first, with a free-text filter applied on the page. Clicking a rule,
 * hostname, namespace or tag in a row calls onFilter with it.
 * @param {HTMLTableSectionElement} tbody
 * @param {HTMLElement} status
 * @param {(item: AlertItem, row: HTMLTableRowElement) => void} onOpen
 * @param {OnFilter} onFilter
 */
export function createAlertList(tbody, status, onOpen, onFilter) {
  // The filter button that had the focus when it was used: the list is built again for the new
  // filter, and the focus goes to the same value's button in it rather than to the page.
  /** @type {{ filter: string, value: string } | undefined} */
  let refocus;
  tbody.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button.filter-by') : null;
    if (!(button instanceof HTMLButtonElement)) return;
    const name = button.dataset.filter;
    if (name === 'rule' || name === 'hostname' || name === 'namespace' || name === 'tag') {
      const value = button.dataset.value ?? '';
      refocus = document.activeElement === button ? { filter: name, value } : undefined;
      onFilter(name, value);
    }
  });

  function restoreFocus() {
    if (!refocus) return;
    const { filter, value } = refocus;
    refocus = undefined;
    if (document.activeElement !== document.body && document.activeElement !== null) return;
    for (const button of tbody.querySelectorAll('button.filter-by')) {
      if (!(button instanceof HTMLButtonElement)) continue;
      if (button.dataset.filter === filter && button.dataset.value === value) {
        button.focus();
        return;
      }
    }
  }
  /** @type {Map<string, { item: AlertItem, row: HTMLTableRowElement }>} */
  const rows = new Map();
  let text = '';
  // The first load stopped at a bound of the server's read: older alerts exist that the list lacks.
  let cut = false;
  // Between clear() and the list's load: an empty table is not "No alerts yet" then.
  let loading = false;
  // Live alerts not shown yet, oldest first: only the newest MAX_ROWS could stay on the page (a
  // hidden tab paints no frames, so this is all it holds).
  /** @type {AlertItem[]} */
  let pending = [];

  function updateStatus() {
    let shown = 0;
    for (const { row } of rows.values()) if (!row.hidden) shown += 1;
    const empty = loading ? 'Loading alerts…' : 'No alerts yet.';
    let counts = rows.size === 0 ? empty : `Showing ${shown} of ${rows.size} alerts.`;
    // The free text is applied on the page only: say what it searched, and that downloads skip it.
    if (text !== '' && rows.size > 0)
      counts = `${counts} The text filter searches only the ${rows.size} rows on the page; downloads ignore it.`;
    status.textContent = cut
      ? `${counts} Older alerts were left out: the first load stopped at a bound of the server's reads (QUERY_MAX_BYTES, or a shared store's own; narrow the filters to see them).`
      : counts;
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
   * @param {(row: HTMLTableRowElement) => void} place
   */
  function insert(item, place) {
    if (rows.has(item.id)) return;
    const row = buildRow(item, onOpen);
    row.hidden = !matchesText(item, text);
    rows.set(item.id, { item, row });
    place(row);
  }

  /** @param {number} most live alerts added now; the rest at the next flush */
  function flushPending(most) {
    const items = pending.splice(0, most);
    for (const item of items) insert(item, (row) => tbody.prepend(row));
    trim();
    updateStatus();
    if (pending.length > 0) showPending();
  }
  const showPending = createFrameTask(() => flushPending(FLUSH_MAX_ROWS), FLUSH_EVERY_MS);

  return {
    /** Empties the table (before loading with other filters). */
    clear() {
      pending = [];
      cut = false;
      loading = true;
      rows.clear();
      tbody.replaceChildren();
      updateStatus();
    },
    /** @param {AlertItem} item a live alert: newest, so on top (at the next frame). */
    addLive(item) {
      pending.push(item);
      if (pending.length > MAX_ROWS) pending.shift();
      showPending();
    },
    /**
     * @param {AlertItem[]} items newest first, from GET /alerts
     * @param {boolean} truncated the server cut the list (QUERY_MAX_BYTES, or a shared store's own bound)
     */
    addLoaded(items, truncated) {
      cut = truncated;
      loading = false;
      // The rows drawn from the stream during the load: one whose alert the list holds takes the
      // list's place for it (the server's order); one it does not hold was stored after the server
      // read the list, so it stays above, in the stream's order. No clocks are compared: with
      // replicas, receipt times come from each replica's clock and the store's order is Redis's.
      flushPending(pending.length);
      const listed = new Set(items.map((item) => item.id));
      for (const [id, { row }] of rows)
        if (listed.has(id)) {
          rows.delete(id);
          row.remove();
        }
      for (const item of items) insert(item, (row) => tbody.append(row));
      trim();
      updateStatus();
      restoreFocus();
    },
    /** @param {string} value */
    setText(value) {
      text = value.trim().toLowerCase();
      for (const { item, row } of rows.values()) row.hidden = !matchesText(item, text);
      updateStatus();
    },
  };
}
