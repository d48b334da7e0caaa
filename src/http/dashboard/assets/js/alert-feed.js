// @ts-check
import { describeFailure } from './dom.js';
import { parseExactJson } from './exact-json.js';

/** @typedef {import('./alert-fields.js').AlertItem} AlertItem */

// What the first load shows; the stream adds to it.
const LOAD_LIMIT = 200;
// Longest wait for the stream's answer before the list is loaded anyway.
const ANSWER_WAIT_MS = 5000;

/**
 * Recent alerts matching the server-side filters, newest first; `truncated` when the server cut
 * the list at QUERY_MAX_BYTES before `limit`.
 * @param {URLSearchParams} filters
 * @returns {Promise<{ ok: true, alerts: AlertItem[], truncated: boolean } | { ok: false, message: string }>}
 */
export async function loadAlerts(filters) {
  const query = new URLSearchParams(filters);
  query.set('limit', String(LOAD_LIMIT));
  try {
    const response = await fetch(`/alerts?${query}`, { headers: { Accept: 'application/json' } });
    if (!response.ok) return { ok: false, message: await describeFailure(response) };
    const body = parseExactJson(await response.text());
    return {
      ok: true,
      alerts: Array.isArray(body.alerts) ? body.alerts : [],
      truncated: body.truncated === true,
    };
  } catch {
    return { ok: false, message: 'the server cannot be reached' };
  }
}

/**
 * Why the server refused the stream, which EventSource does not tell: the same URL asked once
 * more, its problem's detail (a stream that opens this time is closed at once; the page's own
 * retry follows), or that the server cannot be reached.
 * @param {string} url
 * @returns {Promise<string | undefined>}
 */
async function refusalOf(url) {
  const abort = new AbortController();
  try {
    const response = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: abort.signal });
    return response.ok ? undefined : await describeFailure(response);
  } catch {
    return 'the server cannot be reached';
  } finally {
    abort.abort();
  }
}

/**
 * Follows GET /alerts/stream with the same filters. EventSource reconnects by itself and sends
 * Last-Event-ID, so the server replays what was missed. With `onOther`, the same stream also
 * brings the alerts outside the filters (`others=true`, `event: other`).
 * `onTruncated` is called when the server could not replay everything the page missed (its
 * Last-Event-ID evicted, or unknown to a restarted receiver; more than it replays), and when the
 * stream came back before any event gave it an id to resume from.
 * `answered` settles once the server has answered the stream (open, refused or unreachable): an
 * open stream is subscribed, so every alert stored from then on comes through it.
 * @param {URLSearchParams} filters
 * `onRefused` is told why, once the server refused the stream for good (after onStatus('closed')).
 * @param {{ onAlert: (item: AlertItem) => void, onOther?: (item: AlertItem) => void, onTruncated: () => void, onStatus: (status: 'live' | 'reconnecting' | 'closed') => void, onRefused?: (reason: string) => void }} handlers
 * @returns {{ stop: () => void, answered: Promise<void> }}
 */
export function followAlerts(filters, handlers) {
  const query = new URLSearchParams(filters);
  if (handlers.onOther) query.set('others', 'true');
  const url = `/alerts/stream?${query}`;
  const source = new EventSource(url);
  /** @type {() => void} */
  let settle = () => {};
  const answered = new Promise((resolve) => {
    settle = () => resolve(undefined);
    // Headers held somewhere on the way must not keep the list empty.
    setTimeout(settle, ANSWER_WAIT_MS);
  });
  // The browser resumes from the id of the last event it got: none yet (the list came from
  // GET /alerts), its reconnect asks for no replay and what came meanwhile would never show.
  let resumable = false;
  let dropped = false;
  source.addEventListener('open', () => {
    settle();
    handlers.onStatus('live');
    if (dropped && !resumable) handlers.onTruncated();
    dropped = false;
  });
  // A refused request (not text/event-stream) closes the source for good; a dropped one retries.
  source.addEventListener('error', () => {
    settle();
    dropped = true;
    const closed = source.readyState === EventSource.CLOSED;
    handlers.onStatus(closed ? 'closed' : 'reconnecting');
    if (closed && handlers.onRefused) {
      const told = handlers.onRefused;
      void refusalOf(url).then((reason) => reason && told(reason));
    }
  });
  /** @param {(item: AlertItem) => void} handle */
  const deliver = (handle) => (/** @type {Event} */ event) => {
    if (/** @type {MessageEvent<string>} */ (event).lastEventId !== '') resumable = true;
    let item;
    try {
      item = parseExactJson(/** @type {MessageEvent<string>} */ (event).data);
    } catch {
      return;
    }
    if (item && typeof item.id === 'string' && item.alert) handle(item);
  };
  source.addEventListener('alert', deliver(handlers.onAlert));
  if (handlers.onOther) source.addEventListener('other', deliver(handlers.onOther));
  source.addEventListener('truncated', () => handlers.onTruncated());
  return {
    stop: () => {
      settle();
      source.close();
    },
    answered,
  };
}
