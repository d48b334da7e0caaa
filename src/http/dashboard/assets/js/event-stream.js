// @ts-check
// Server-Sent Events read with fetch, not EventSource: EventSource hides the server's `: ping`
// comments, so a connection a proxy stopped forwarding (held open, nothing through: a NAT or
// ingress idle timeout, a laptop's sleep) looked like a quiet one and the page stayed "Live".

// The wait before a reconnect until the server sends its own `retry:`, as EventSource's.
const DEFAULT_RETRY_MS = 3000;

/** @typedef {{ type: string, data: string, id: string }} StreamEvent */

/**
 * Follows `url` as EventSource would: each event to `onEvent`, reconnecting after a drop with
 * Last-Event-ID (the server replays what was missed), given up for good when refused (not 200 or
 * not text/event-stream: `onRefused` gets the response). Any byte from the server, a heartbeat
 * included, counts as a sign of life: after `silenceMs` without one (the answer's wait included)
 * the request is dropped and made again.
 * @param {string} url
 * @param {{ silenceMs: number, onOpen: () => void, onEvent: (event: StreamEvent) => void, onDrop: () => void, onRefused: (response: Response) => void }} handlers
 * @returns {{ stop: () => void, lastEventId: () => string }}
 */
export function openEventStream(url, handlers) {
  let lastId = '';
  let retryMs = DEFAULT_RETRY_MS;
  let stopped = false;
  /** @type {AbortController | undefined} */
  let abort;
  let heardAt = Date.now();
  // Date.now(), not a timer re-armed at each byte: after a sleep of the machine this fires at once.
  const watchdog = setInterval(
    () => {
      if (Date.now() - heardAt > handlers.silenceMs) abort?.abort();
    },
    Math.min(handlers.silenceMs / 5, 5000),
  );

  async function connect() {
    abort = new AbortController();
    heardAt = Date.now();
    /** @type {Record<string, string>} */
    const headers = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' };
    if (lastId !== '') headers['Last-Event-ID'] = lastId;
    const response = await fetch(url, { headers, signal: abort.signal, cache: 'no-store' });
    const type = response.headers.get('Content-Type') ?? '';
    if (!response.ok || response.body === null || !/^text\/event-stream\b/i.test(type)) {
      return response;
    }
    handlers.onOpen();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    // Once stopped (by a handler, say), the rest of a chunk's events are neither dispatched nor
    // taken as seen: a stream opened again from lastEventId() gets them.
    const parse = createEventParser((event) => {
      if (!stopped) handlers.onEvent(event);
    }, lastId);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return undefined;
      heardAt = Date.now();
      parse(
        value,
        (id) => {
          if (!stopped) lastId = id;
        },
        (ms) => (retryMs = ms),
      );
    }
  }

  async function run() {
    while (!stopped) {
      let refused;
      try {
        refused = await connect();
      } catch {
        // Dropped, unreachable, silent too long, or a handler threw: reconnect, as EventSource does.
      }
      // The request ended here is aborted whatever ended it: a handler's throw left it open, and
      // each one left so counted against the server's streams per address.
      if (!refused) abort?.abort();
      if (stopped) return;
      if (refused) {
        // Not aborted: the refusal's body, which says why, is still to be read.
        stopped = true;
        clearInterval(watchdog);
        handlers.onRefused(refused);
        return;
      }
      handlers.onDrop();
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }

  function stop() {
    stopped = true;
    clearInterval(watchdog);
    abort?.abort();
  }

  void run();
  return { stop, lastEventId: () => lastId };
}

/**
 * The SSE format's lines (html.spec.whatwg.org, "Interpreting an event stream"), fed chunk by
 * chunk: each event to `dispatch` (type '' for the default "message"). The id carries over from
 * the connection before, as EventSource's last event ID does.
 * @param {(event: StreamEvent) => void} dispatch
 * @param {string} startId
 */
function createEventParser(dispatch, startId) {
  // The start of a line not ended yet: it holds no line break, so only each new chunk is searched
  // for one. Joined to each chunk and searched again, it made one long line cost the square of its
  // chunks: a 1.5 MB alert read 1 KB at a time held the page for 4.6 s of CPU.
  let pending = '';
  // The chunk before ended with CR: an LF first in this one ends no second line (CRLF is one break).
  let afterCr = false;
  let type = '';
  /** @type {string[]} */
  let data = [];
  let id = startId;
  /**
   * @param {string} chunk
   * @param {(id: string) => void} setId
   * @param {(ms: number) => void} setRetry
   */
  return (chunk, setId, setRetry) => {
    if (chunk === '') return;
    const text = afterCr && chunk.startsWith('\n') ? chunk.slice(1) : chunk;
    afterCr = chunk.endsWith('\r');
    const lines = text.split(/\r\n|\r|\n/);
    const rest = lines.pop() ?? '';
    if (lines.length === 0) {
      pending += rest;
      return;
    }
    lines[0] = pending + lines[0];
    pending = rest;
    for (const line of lines) {
      if (line === '') {
        setId(id);
        if (data.length > 0) dispatch({ type, data: data.join('\n'), id });
        type = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id' && !value.includes('\0')) id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) setRetry(Number(value));
    }
  };
}
