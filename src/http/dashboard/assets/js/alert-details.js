// @ts-check
import { el, revealHiddenControls } from './dom.js';
import { formatTime, formatValue, outputOf, priorityClass, workloadOf } from './alert-fields.js';
import { stringifyExactJson } from './exact-json.js';

/** @typedef {import('./alert-fields.js').AlertItem} AlertItem */

/**
 * @param {Array<[string, Node | string | undefined]>} pairs
 */
function definitionList(pairs) {
  const list = el('dl', { className: 'facts' });
  for (const [name, value] of pairs) {
    if (value === undefined || value === '') continue;
    list.append(el('dt', { text: name }), el('dd', {}, [value]));
  }
  return list;
}

/** @param {Record<string, unknown>} fields */
function fieldsTable(fields) {
  const keys = Object.keys(fields).sort();
  const body = el('tbody');
  for (const key of keys) {
    body.append(
      el('tr', {}, [el('th', { scope: 'row', text: key }), el('td', { text: formatValue(fields[key]) })]),
    );
  }
  return el('table', { className: 'fields' }, [
    el('caption', { text: `output_fields (${keys.length})` }),
    el('thead', {}, [
      el('tr', {}, [el('th', { scope: 'col', text: 'Field' }), el('th', { scope: 'col', text: 'Value' })]),
    ]),
    body,
  ]);
}

/**
 * The panel showing one whole alert. Escape or the close button hides it and returns focus to the row.
 * @param {HTMLElement} section
 */
export function createAlertDetails(section) {
  const heading = section.querySelector('h2');
  const body = section.querySelector('.details-body');
  const close = section.querySelector('button.close');
  if (
    !(heading instanceof HTMLElement) ||
    !(body instanceof HTMLElement) ||
    !(close instanceof HTMLButtonElement)
  ) {
    throw new Error('the details panel is incomplete');
  }
  /** @type {HTMLElement | undefined} */
  let opener;

  function hide() {
    section.hidden = true;
    opener?.focus();
  }
  close.addEventListener('click', hide);
  section.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') hide();
  });

  return {
    /**
     * @param {AlertItem} item
     * @param {HTMLElement} from
     */
    show(item, from) {
      opener = from;
      const { alert } = item;
      const workload = workloadOf(item);
      heading.textContent = revealHiddenControls(alert.rule);
      body.replaceChildren(
        definitionList([
          [
            'Priority',
            el('span', { className: `badge ${priorityClass(alert.priority)}`, text: alert.priority }),
          ],
          ['Time', `${formatTime(alert.time)} (${alert.time})`],
          ['Received', item.receivedAt],
          ['Source', item.source],
          ['Hostname', alert.hostname],
          ['Namespace', workload.namespace],
          ['Pod', workload.pod],
          ['Container', workload.container],
          ['Tags', (alert.tags ?? []).join(', ')],
          ['Alert id', item.id],
        ]),
        el('h3', { text: 'Output' }),
        el('pre', { className: 'output', text: outputOf(alert) || '(none)' }),
        alert.output_fields ? fieldsTable(alert.output_fields) : el('p', { text: 'No output_fields.' }),
        el('details', {}, [
          el('summary', { text: 'Raw JSON' }),
          el('pre', { text: stringifyExactJson(item, 2) }),
        ]),
      );
      section.hidden = false;
      heading.focus();
    },
  };
}
