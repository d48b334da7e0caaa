import type { EventEmitter } from 'node:events';
import type http from 'node:http';
import type { Socket } from 'node:net';
import { resetConnection } from './reset-connection.js';

/**
 * How long a connection closed while a request's body is still arriving goes on reading (and
 * dropping) what its client sends once the answer has left, at most: enough for a client to send
 * what it has in flight and read the answer, short enough that bodies trickled after their answer
 * do not hold SERVER_MAX_CONNECTIONS (they held it for SERVER_REQUEST_TIMEOUT_MS, 30 s).
 */
export const LINGER_MS = 2000;

// Set once the close has begun: node:http and endAfterAnswer may both ask for it.
const ENDING = Symbol('a lingering close under way');
// Set once the answer has left and what the client still sends is read and dropped.
const DRAINING = Symbol('lingering with the answer gone');
// Set on a close that ends at a bound of its own (lingerThenReset): drain arms no LINGER_MS.
const OWN_BOUND = Symbol('a lingering close with a bound of its own');
// Emitted then on the socket's listener, with the socket (onLingering).
const LINGERING = Symbol('a connection lingers with its answer gone');

interface LingeringSocket extends Socket {
  [ENDING]?: boolean;
  [DRAINING]?: boolean;
  [OWN_BOUND]?: boolean;
  // The listener that accepted it (node:net's, undocumented; a TLS socket's is its TLS listener).
  server?: EventEmitter | null;
  // node:http's parser of the connection: the request it is reading, and what it hands each new one to.
  parser?: {
    incoming?: http.IncomingMessage | null;
    onIncoming?: (incoming: http.IncomingMessage, keepAlive: boolean) => number;
  } | null;
}

// Takes each request parsed while lingering, which is never routed (nothing behind the closing
// answer is), and drops its body. Handed to the app, each was held with an answer until the close:
// 50,000 pipelined behind a refused body were.
function dropRequest(incoming: http.IncomingMessage & { upgrade?: boolean }): number {
  // What node:http's own handler decides (with no 'upgrade' listener, an Upgrade is a plain request;
  // a CONNECT is always the 'connect' listener's): left as parsed, an Upgrade was taken for one no one
  // serves, and the socket destroyed at once, the answer with it.
  incoming.upgrade = incoming.method === 'CONNECT';
  incoming.resume();
  return 0;
}

function drain(this: LingeringSocket): void {
  this[DRAINING] = true;
  this.server?.emit(LINGERING, this);
  if (this[OWN_BOUND] !== true) {
    // Reset at the bound: the FIN has left, and destroyed behind it, what the kernel still held of
    // an answer its client never read stayed there (FIN-WAIT-1, up to 4 MiB) with its slots free.
    const bound = setTimeout(() => resetConnection(this), LINGER_MS);
    this.once('close', () => clearTimeout(bound));
  }
  if (!this.parser) return;
  this.parser.onIncoming = dropRequest;
  // A route that stopped reading at its cap (raw-body) left the body paused, and the socket unread.
  this.parser.incoming?.resume();
}

function destroyOnError(this: Socket): void {
  this.destroy();
}

function endLingering(this: LingeringSocket): void {
  if (this[ENDING] === true || this.destroyed) return;
  this[ENDING] = true;
  // Nothing may be written once it has ended; a listener that still tried (a CONNECT's, after
  // node:http took its own 'error' listener off, 44800a9) raised an 'error' no one heard, which
  // killed the process. Whatever else comes to try, the socket is only closed.
  this.on('error', destroyOnError);
  if (this.writable) this.end();
  if (this.writableFinished) drain.call(this);
  else this.once('finish', drain);
}

// What the client sends once the parser is detached: read, and dropped.
function dropChunk(): void {}

// After a parse error node:http still hands every read to its parser, which refuses each again (a
// 'clientError' per read). Detached, the parser reads nothing more: what comes is read and dropped.
function detachParser(socket: Socket): void {
  if (socket.listeners('data').includes(dropChunk)) return;
  // node:http's own listener, which hands each read to the parser (nothing else here reads a socket).
  socket.removeAllListeners('data');
  // A 'data' listener added while the socket has its parser takes the reads back from it (node:http
  // unconsumes the parser, and stops pausing the socket for it).
  socket.on('data', dropChunk);
  socket.resume();
}

/**
 * Writes `answer` to what node:http's parser refused on `socket` (clientError), and closes it with
 * the lingering close of lingerOnClose, the parser detached: destroyed as soon as the answer had
 * left, a socket the client still sent to (headers past SERVER_MAX_HEADER_BYTES written in one go,
 * garbage) was reset, and a client that read once it had sent 4 MB never got its 431 or 400. Without
 * `answer` (the socket already ended, or lingering), only the parser is detached: a parse error of
 * what comes while lingering no longer cuts the close short. A CONNECT's socket (node:http's
 * 'connect'), its parser already detached and nothing reading it, is read and dropped from here on.
 */
export function lingerAfterParseError(socket: Socket, answer?: string): void {
  if (socket.destroyed) return;
  detachParser(socket);
  lingerOnClose(socket);
  if (answer !== undefined && socket.writable) socket.write(answer);
  socket.destroySoon();
}

/**
 * Makes the close of `socket` after an answer a lingering one (RFC 9112, section 9.6; Apache's and
 * nginx's lingering close): the answer is followed by a FIN, then what the client still sends is
 * read and dropped, nothing of it held, until it closes its side (the socket then ends) or
 * LINGER_MS pass. Destroyed as soon as the answer had left with a body still coming, the socket
 * held unread bytes, for which the kernel resets the connection, and the reset could discard the
 * answer before the client read it: curl posting 1.5 MB without `Expect` to an ingest that refused
 * it got exit 55 instead of its 401 in 9 of 50 runs; a client that reads once it has sent never got
 * one. node:http (an answer saying `Connection: close`) and endAfterAnswer close through `destroySoon`.
 */
export function lingerOnClose(socket: Socket): void {
  socket.destroySoon = endLingering;
}

/**
 * Closes `socket`, kept alive with its answers handed to the kernel (its keep-alive timeout), with
 * the lingering close of lingerOnClose, and resets it (reset-connection.ts) once its client closes
 * its side or `boundMs` pass. The kernel may still hold up to its send buffer (4 MiB) of the last
 * answer: reset at the timeout, a client reading slower than it was written (a 3.3 MB list at
 * 200 KB/s, or pausing past the timeout) lost the rest, which it took behind a FIN before; one that
 * does not read holds its slots (the descriptor is kept) until the bound, then leaves nothing in
 * the kernel. A client closes once it has read up to the FIN, so the reset then drops nothing it
 * wanted; one that closes its side without reading is reset at once.
 */
export function lingerThenReset(socket: Socket, boundMs: number): void {
  const lingering = socket as LingeringSocket;
  if (lingering[ENDING] === true || socket.destroyed) return;
  lingering[OWN_BOUND] = true;
  const reset = () => resetConnection(socket);
  // From now, not from the FIN's leaving: on TLS, its close_notify waits behind what is not read.
  const bound = setTimeout(reset, boundMs);
  socket.once('close', () => clearTimeout(bound));
  socket.once('end', reset);
  lingerOnClose(socket);
  socket.destroySoon();
}

/**
 * Whether `socket` lingers with its answer gone (lingerOnClose): ended, its answer flushed, only
 * what its client still sends read and dropped. It has nothing left to deliver: closing it cuts
 * the linger short, and can only reset an answer its client has not read yet.
 */
export function lingers(socket: Socket): boolean {
  return (socket as LingeringSocket)[DRAINING] === true && !socket.destroyed;
}

/**
 * Calls `listener` with each socket of `server` as it comes to linger with its answer gone (lingers
 * turns true): on a TLS listener, the TLS socket. Told by the listener, not by each socket: a
 * listener on every socket cost each connection, most of which never linger, ~240 bytes while open.
 */
export function onLingering(server: EventEmitter, listener: (socket: Socket) => void): void {
  server.on(LINGERING, listener);
}
