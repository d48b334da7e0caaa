// @ts-check
import { describeFailure } from './dom.js';
import { parseExactJson } from './exact-json.js';
import { openEventStream } from './event-stream.js';

/** @typedef {import('./alert-fields.js').AlertItem} AlertItem */

// What the first load shows; the stream adds to it.
const LOAD_LIMIT = 200;
// Longest wait for the stream's answer before the list is loaded anyway.
const ANSWER_WAIT_MS = 5000;
// A stream silent for this many of the server's heartbeats (STREAM_HEARTBEAT_MS) is taken for
// dead and opened again: one late heartbeat is not enough, three missed is long to show "Live".
const SILENT_HEARTBEATS = 2.5;
// Longest wait for the list; a request a dead connection holds would keep it loading for ever.
export const FETCH_TIMEOUT_MS = 30000;

/**
 * True for a refusal of the request itself, which the same filters get however often they are
 * sent: a query past SERVER_MAX_HEADER_BYTES (431) or a proxy's bound on the URL (414), as a long
 * rule clicked in the list makes, or a filter the server does not take (400). Without filters
 * those are about something else (a proxy's 400), and asked for again as any other refusal.
 * @param {number} status
 * @param {URLSearchParams} filters
 */
function refusesFilters(status, filters) {
  return filters.toString() !== '' && (status === 400 || status === 414 || status === 431);
}

/**
 * Recent alerts matching the server-side filters, newest first; `truncated` when the server cut
 * the list before `limit`: at QUERY_MAX_BYTES, or where a shared store's read stopped at its own bound.
 * `filtersRefused` when the server refused the filters themselves: asking again cannot help.
 * @param {URLSearchParams} filters
 * @returns {Promise<{ ok: true, alerts: AlertItem[], truncated: boolean } | { ok: false, message: string, filtersRefused: boolean }>}
 */
export async function loadAlerts(filters) {
  const query = new URLSearchParams(filters);
  query.set('limit', String(LOAD_LIMIT));
  try {
    const response = await fetch(`/alerts?${query}`, {
      headers: { Accept: 'application/json' },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    if (!response.ok)
      return {
        ok: false,
        message: await describeFailure(response),
        filtersRefused: refusesFilters(response.status, filters),
      };
    const body = parseExactJson(await response.text());
    return {
      ok: true,
      alerts: Array.isArray(body.alerts) ? body.alerts : [],
      truncated: body.truncated === true,
    };
  } catch {
    return { ok: false, message: 'the server cannot be reached', filtersRefused: false };
  }
}

/**
 * Follows GET /alerts/stream with the same filters. It reconnects by itself with Last-Event-ID, so
 * the server replays what was missed, also after `heartbeatMs` × 2.5 without a byte (event-stream.js). With `onOther`, the same stream also
 * brings the alerts outside the filters (`others=true`, `event: other`).
 * `onTruncated` is called when the server could not replay everything the page missed (its
 * Last-Event-ID evicted, or unknown to a restarted receiver; more than it replays), and when the
 * stream came back before any event gave it an id to resume from.
 * `answered` settles once the server has answered the stream (open, refused or unreachable): an
 * open stream is subscribed, so every alert stored from then on comes through it.
 * @param {URLSearchParams} filters
 * `onRefused` is told why, once the server refused the stream for good (after onStatus('closed'),
 * whose `filtersRefused` says the server refused the filters themselves: asking again cannot help).
 * @param {{ heartbeatMs: number, onAlert: (item: AlertItem) => void, onOther?: (item: AlertItem) => void, onTruncated: () => void, onStatus: (status: 'live' | 'reconnecting' | 'closed', filtersRefused?: boolean) => void, onRefused?: (reason: string) => void }} handlers
 * @returns {{ stop: () => void, answered: Promise<void> }}
 */
export function followAlerts(filters, handlers) {
  const query = new URLSearchParams(filters);
  if (handlers.onOther) query.set('others', 'true');
  /** @type {() => void} */
  let settle = () => {};
  const answered = new Promise((resolve) => {
    settle = () => resolve(undefined);
    // Headers held somewhere on the way must not keep the list empty.
    setTimeout(settle, ANSWER_WAIT_MS);
  });
  // A reconnect resumes from the id of the last event it got: none yet (the list came from
  // GET /alerts), it asks for no replay and what came meanwhile would never show.
  let dropped = false;
  // Filters the server has taken once are not what a later refusal is about: a reconnect's
  // Last-Event-ID can push the same request past SERVER_MAX_HEADER_BYTES, after a restart, say.
  let accepted = false;
  /** @param {(item: AlertItem) => void} handle @param {string} data */
  const deliver = (handle, data) => {
    let item;
    try {
      item = parseExactJson(data);
    } catch {
      return;
    }
    if (item && typeof item.id === 'string' && item.alert) handle(item);
  };
  const stream = openEventStream(`/alerts/stream?${query}`, {
    silenceMs: handlers.heartbeatMs * SILENT_HEARTBEATS,
    onOpen() {
      settle();
      accepted = true;
      handlers.onStatus('live');
      if (dropped && stream.lastEventId() === '') handlers.onTruncated();
      dropped = false;
    },
    onDrop() {
      settle();
      dropped = true;
      handlers.onStatus('reconnecting');
    },
    // A refused request (not text/event-stream) is given up for good, as EventSource does.
    onRefused(response) {
      settle();
      handlers.onStatus('closed', !accepted && refusesFilters(response.status, filters));
      const told = handlers.onRefused;
      if (told) void describeFailure(response).then(told);
    },
    onEvent(event) {
      if (event.type === 'alert') deliver(handlers.onAlert, event.data);
      else if (event.type === 'other' && handlers.onOther) deliver(handlers.onOther, event.data);
      else if (event.type === 'truncated') handlers.onTruncated();
    },
  });
  return {
    stop: () => {
      settle();
      stream.stop();
    },
    answered,
  };
}
