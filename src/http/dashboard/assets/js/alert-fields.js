// @ts-check
// Reading the alert items of GET /alerts and the stream: priority class, workload, time, text search.

/**
 * @typedef {{ rule: string, priority: string, time: string, hostname?: string, source?: string,
 *   output?: string, message?: string, tags?: string[], output_fields?: Record<string, unknown>, [key: string]: unknown }} FalcoAlert
 * @typedef {{ id: string, receivedAt: string, source: string, alert: FalcoAlert }} AlertItem
 */

/**
 * CSS class for a priority (the stylesheet colours Falco's eight); anything but letters gets a neutral class.
 * @param {string} priority
 */
export function priorityClass(priority) {
  return /^[A-Za-z]{1,20}$/.test(priority) ? `prio-${priority.toLowerCase()}` : 'prio-unknown';
}

/**
 * Shows any output_fields value as text (null is Falco's <NA>).
 * @param {unknown} value
 * @returns {string}
 */
export function formatValue(value) {
  if (value === null || value === undefined) return '<NA>';
  if (Array.isArray(value)) return value.map(formatValue).join(', ');
  return String(value);
}

/**
 * @param {AlertItem} item
 * @param {string} key
 * @returns {string | undefined}
 */
function field(item, key) {
  const fields = item.alert.output_fields;
  if (!fields || typeof fields !== 'object') return undefined;
  const value = fields[key];
  return value === null || value === undefined || value === '' ? undefined : formatValue(value);
}

/**
 * The rendered rule output: `output`, else `message` (Falco 0.39+ with json_include_output_property
 * off), else ''.
 * @param {FalcoAlert} alert
 * @returns {string}
 */
export function outputOf(alert) {
  if (typeof alert.output === 'string') return alert.output;
  return typeof alert.message === 'string' ? alert.message : '';
}

/**
 * Container, pod and namespace of an alert, where Falco filled them in.
 * @param {AlertItem} item
 */
export function workloadOf(item) {
  return {
    container: field(item, 'container.name') ?? field(item, 'container.id'),
    pod: field(item, 'k8s.pod.name'),
    // A k8saudit alert names the namespace of the object it is about.
    namespace: field(item, 'k8s.ns.name') ?? field(item, 'ka.target.namespace'),
  };
}

/**
 * An RFC 3339 time as "YYYY-MM-DD HH:MM:SS" UTC; text that is no time is shown as it is.
 * @param {string} time
 */
export function formatTime(time) {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return String(time);
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/**
 * True when the free text occurs (case-insensitive) in the rule, output, hostname, source, tags or any field value.
 * @param {AlertItem} item
 * @param {string} text lower-case
 */
export function matchesText(item, text) {
  if (text === '') return true;
  const { alert } = item;
  const haystack = [alert.rule, outputOf(alert), alert.hostname, item.source, ...(alert.tags ?? [])];
  for (const value of Object.values(alert.output_fields ?? {})) haystack.push(formatValue(value));
  return haystack.some((value) => typeof value === 'string' && value.toLowerCase().includes(text));
}
