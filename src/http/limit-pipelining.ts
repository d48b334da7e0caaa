import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Requests of one connection routed and not yet answered, at most: the one being answered and those
 * pipelined behind it (as many as the default INGEST_MAX_INFLIGHT_PER_ADDRESS lets one address have).
 */
export const MAX_PIPELINED_REQUESTS = 32;

// Kept on the socket, as one-shot-senders.ts keeps its counts, and set only on a connection that
// pipelines: one that sends a request at a time (Falco, browsers) costs one comparison.
const ROUTED = Symbol('requests routed and not yet answered, once the connection pipelines');
const WAITING = Symbol('pipelined requests read and not yet routed');
const PAUSED = Symbol('reading stopped until the waiting requests are routed');
const SCHEDULED = Symbol('waiting requests to be routed in the next loop turn');

interface PipeliningSocket extends Socket {
  /** The response node:http is writing on the connection (see connection-tracker.ts). */
  _httpMessage?: unknown;
  [ROUTED]?: number;
  [WAITING]?: Array<[IncomingMessage, ServerResponse]>;
  [PAUSED]?: boolean;
  [SCHEDULED]?: boolean;
}

// node:http resumes a socket it did not pause itself (a request's body read, an answer finished):
// paused here, it is paused again before a byte is read, as node:http keeps its own pauses.
function keepPaused(this: PipeliningSocket): void {
  if (this[PAUSED]) this.pause();
}

/**
 * Routes at most `depth` requests of one connection before their answers are written. node:http
 * hands the app every request of a received chunk (a 64 KiB read holds hundreds) before it pauses
 * the socket, and pauses it only once answers wait to be written: 100 `GET /alerts/{id}` in one
 * 7.8 KB write were all routed at once and their store reads ran back to back. Past the depth,
 * requests wait in order, unrouted, and the socket is not read until they are routed, as the
 * answers ahead are written. `onPaused` is called once per connection.
 */
export function limitPipelining(
  listener: RequestListener,
  onPaused: (socket: Socket) => void,
  depth: number = MAX_PIPELINED_REQUESTS,
): RequestListener {
  const route = (socket: PipeliningSocket, req: IncomingMessage, res: ServerResponse) => {
    socket[ROUTED] = (socket[ROUTED] ?? 0) + 1;
    res.once('close', () => answered(socket));
    listener(req, res);
  };
  // Routes waiting requests into the free places, in a later loop turn than the answers that freed
  // them: answers written at once (small ones the kernel takes) free places one after another
  // without a turn of the loop in between, and 2,000 `GET /healthz` in one write were routed in one
  // go, /healthz and ingest waiting 0.7 s behind them.
  const routeWaiting = (socket: PipeliningSocket) => {
    socket[SCHEDULED] = false;
    const waiting = socket[WAITING];
    if (waiting === undefined) return;
    // The client is gone: nothing would read the answers of the requests it sent ahead.
    if (socket.destroyed) {
      socket[WAITING] = undefined;
      return;
    }
    while (waiting.length > 0 && socket[ROUTED]! < depth) {
      const [req, res] = waiting.shift()!;
      route(socket, req, res);
    }
    if (waiting.length > 0) return;
    socket[WAITING] = undefined;
    socket[PAUSED] = false;
    socket.resume();
  };
  const answered = (socket: PipeliningSocket) => {
    socket[ROUTED]! -= 1;
    if (socket[WAITING] === undefined || socket[SCHEDULED]) return;
    socket[SCHEDULED] = true;
    setImmediate(routeWaiting, socket);
  };
  return (req, res) => {
    const socket = req.socket as PipeliningSocket;
    const ahead = socket._httpMessage as ServerResponse | null | undefined;
    // No answer ahead of it on its connection: routed as it is.
    if (ahead === res || !ahead) return listener(req, res);
    // The answer being written was routed alone: counted from now on as well.
    if ((socket[ROUTED] ?? 0) === 0) {
      socket[ROUTED] = 1;
      ahead.once('close', () => answered(socket));
    }
    const waiting = socket[WAITING];
    if (waiting === undefined && socket[ROUTED]! < depth) return route(socket, req, res);
    if (waiting !== undefined) {
      waiting.push([req, res]);
      return;
    }
    socket[WAITING] = [[req, res]];
    if (socket[PAUSED] === undefined) {
      socket.on('resume', keepPaused);
      onPaused(socket);
    }
    socket[PAUSED] = true;
    socket.pause();
  };
}
