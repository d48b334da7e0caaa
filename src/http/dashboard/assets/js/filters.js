// @ts-check
import { el } from './dom.js';

// These go to the server (exact match, see GET /alerts); the free text is applied on the page.
const SERVER_FILTERS = ['min_priority', 'rule', 'source', 'hostname', 'namespace', 'tag'];

/**
 * Wires the filter form: server filters apply on submit (Enter) or when a select changes, the free
 * text as it is typed. `exactValues` maps a field's text to the value filtered by (a suggestion
 * chosen in its shown form back to the exact value, see suggestions.js).
 * @param {HTMLFormElement} form
 * @param {string[]} priorities most severe first, from GET /ui/config.json
 * @param {{ onServerFilters: (filters: URLSearchParams) => void, onText: (text: string) => void }} handlers
 * @param {Record<string, (text: string) => string>} [exactValues]
 */
export function setupFilters(form, priorities, handlers, exactValues = {}) {
  const minPriority = form.elements.namedItem('min_priority');
  if (minPriority instanceof HTMLSelectElement) {
    for (const priority of priorities)
      minPriority.append(el('option', { value: priority, text: `${priority} or worse` }));
  }

  // Values set by filterBy (a value clicked in the list), kept as they are until the field is
  // edited or the form cleared: a rule or host with spaces around it is matched exactly, not
  // trimmed to no alert, and one with a line break (which an <input> drops) is not sent without it.
  /** @type {Map<string, { shown: string, exact: string }>} */
  const clicked = new Map();

  function serverFilters() {
    const data = new FormData(form);
    const filters = new URLSearchParams();
    for (const name of SERVER_FILTERS) {
      const value = data.get(name);
      const chosen = clicked.get(name);
      if (typeof value === 'string' && value !== '' && chosen?.shown === value) {
        filters.set(name, chosen.exact);
        continue;
      }
      if (typeof value !== 'string' || value.trim() === '') continue;
      const text = value.trim();
      filters.set(name, exactValues[name]?.(text) ?? text);
    }
    return filters;
  }
  function text() {
    const value = new FormData(form).get('text');
    return typeof value === 'string' ? value : '';
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    handlers.onServerFilters(serverFilters());
  });
  form.addEventListener('change', (event) => {
    if (event.target instanceof HTMLSelectElement) handlers.onServerFilters(serverFilters());
  });
  form.addEventListener('input', (event) => {
    if (!(event.target instanceof HTMLInputElement)) return;
    // An edited field is taken as typed, even when its text comes back to what a click showed.
    clicked.delete(event.target.name);
    if (event.target.name === 'text') handlers.onText(text());
  });
  form.addEventListener('reset', () => {
    clicked.clear();
    // The reset event fires before the fields are cleared.
    setTimeout(() => {
      handlers.onText('');
      handlers.onServerFilters(serverFilters());
    });
  });

  return {
    serverFilters,
    /**
     * Sets one exact filter (a rule, hostname, namespace or tag clicked in the list) and applies it.
     * @param {string} name
     * @param {string} value
     */
    filterBy(name, value) {
      const field = form.elements.namedItem(name);
      if (!(field instanceof HTMLInputElement)) return;
      field.value = value;
      clicked.set(name, { shown: field.value, exact: value });
      handlers.onServerFilters(serverFilters());
    },
  };
}
