import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createAddressCounts } from '../server/address-counts.js';
import { resetConnection } from '../server/reset-connection.js';

/**
 * Requests of one connection routed and not yet answered, at most: the one being answered and those
 * pipelined behind it (as many as the default INGEST_MAX_INFLIGHT_PER_ADDRESS lets one address have).
 */
export const MAX_PIPELINED_REQUESTS = 32;

/**
 * Requests read behind another's answer on their connection (pipelined), routed and not yet
 * answered or waiting to be routed, all connections together, at most. Each holds node:http's
 * request and answer objects (about 1.6 KB of heap waiting, up to 5 KB routed), and one read of a
 * connection brings up to 64 KiB of requests (1,900 `GET /healthz`): connections of one address
 * pipelining them without reading the answers ran the image's 128 MiB heap out and the process
 * died, 300 opened one after another within 10 s, or 500 at once in 2 s (found probing).
 */
export const MAX_PIPELINED_HELD = 8192;

/** Of those, the requests from one client address, so that one client cannot hold them all. */
export const MAX_PIPELINED_HELD_PER_ADDRESS = 2048;

/** The bounds of limitPipelining (tests set smaller ones). */
export interface PipeliningLimits {
  /** Requests of one connection routed before their answers are written. */
  depth: number;
  /** Requests read behind another's answer, routed or waiting, all connections together. */
  maxHeld: number;
  /** Of those, from one client address. */
  maxHeldPerAddress: number;
}

// Kept on the socket, as one-shot-senders.ts keeps its counts, and set only on a connection that
// pipelines: one that sends a request at a time (Falco, browsers) costs one comparison.
const ROUTED = Symbol('requests routed and not yet answered, once the connection pipelines');
const WAITING = Symbol('pipelined requests read and not yet routed');
const PAUSED = Symbol('reading stopped until the waiting requests are routed');
const SCHEDULED = Symbol('waiting requests to be routed in the next loop turn');
const ADDRESS = Symbol('the client address its pipelined requests are counted under');
const HELD = Symbol('its requests counted as held: routed behind an answer, or waiting');
const CUT = Symbol('closed for requests pipelined past the bounds');

interface PipeliningSocket extends Socket {
  /** The response node:http is writing on the connection (see connection-tracker.ts). */
  _httpMessage?: unknown;
  [ROUTED]?: number;
  [WAITING]?: Array<[IncomingMessage, ServerResponse]>;
  [PAUSED]?: boolean;
  [SCHEDULED]?: boolean;
  [ADDRESS]?: string;
  [HELD]?: number;
  [CUT]?: boolean;
  // node:http's parser of the connection: what it calls with each request it parsed.
  parser?: { onIncoming?: (...args: unknown[]) => unknown } | null;
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
 * answers ahead are written. `onPaused` is called once per connection. A connection whose request
 * read behind an answer would make those past `maxHeld`, or its address's `maxHeldPerAddress`, is
 * closed at once, its waiting requests never routed, and handed to `onCut`: nothing of it is read,
 * so the answers it has not taken can never be written anyway.
 */
export function limitPipelining(
  listener: RequestListener,
  onPaused: (socket: Socket) => void,
  onCut: (socket: Socket) => void = () => {},
  limits: Partial<PipeliningLimits> = {},
): RequestListener {
  const {
    depth = MAX_PIPELINED_REQUESTS,
    maxHeld = MAX_PIPELINED_HELD,
    maxHeldPerAddress = MAX_PIPELINED_HELD_PER_ADDRESS,
  } = limits;
  let held = 0;
  const heldByAddress = createAddressCounts();
  const letGo = (socket: PipeliningSocket, count: number) => {
    const letting = Math.min(count, socket[HELD] ?? 0);
    socket[HELD] = (socket[HELD] ?? 0) - letting;
    held -= letting;
    heldByAddress.remove(socket[ADDRESS]!, letting);
  };
  const hold = (socket: PipeliningSocket, address: string) => {
    // All of it once the connection is gone: requests still waiting are never routed, so no answer
    // of theirs closes to give them back (nor, on Node 20, do answers queued behind the one being written).
    if (socket[HELD] === undefined) socket.once('close', () => letGo(socket, Infinity));
    socket[HELD] = (socket[HELD] ?? 0) + 1;
    held++;
    heldByAddress.add(address);
  };
  const cut = (socket: PipeliningSocket) => {
    letGo(socket, Infinity);
    socket[WAITING] = undefined;
    socket[CUT] = true;
    // node:http goes on parsing what the connection's last read brought and builds a request and
    // an answer for each, kept until the connection's close in a later phase of the loop: 500
    // connections cut in one turn, 2,000 requests each, ran the heap out all the same. Now each is
    // let go as soon as it is parsed.
    if (socket.parser) socket.parser.onIncoming = () => 0;
    // Reset: its client was not reading, and a FIN kept what the kernel held for it (reset-connection.ts).
    resetConnection(socket);
    onCut(socket);
  };
  // Every request routed here came behind another's answer, and was counted as it came.
  const route = (socket: PipeliningSocket, req: IncomingMessage, res: ServerResponse) => {
    socket[ROUTED] = (socket[ROUTED] ?? 0) + 1;
    res.once('close', () => {
      letGo(socket, 1);
      answered(socket);
    });
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
      letGo(socket, waiting.length);
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
    // Cut: no more of its requests are routed (should node:http hand over more).
    if (socket[CUT]) return;
    const ahead = socket._httpMessage as ServerResponse | null | undefined;
    // No answer ahead of it on its connection: routed as it is.
    if (ahead === res || !ahead) return listener(req, res);
    // The answer being written was routed alone: counted from now on as well.
    if ((socket[ROUTED] ?? 0) === 0) {
      socket[ROUTED] = 1;
      ahead.once('close', () => answered(socket));
    }
    const address = (socket[ADDRESS] ??= socket.remoteAddress ?? '');
    if (held >= maxHeld || heldByAddress.get(address) >= maxHeldPerAddress) return cut(socket);
    hold(socket, address);
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
