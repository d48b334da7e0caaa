import type http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { buildProblem, rawProblemAnswer } from '../http/problem.js';
import type { ConnectionRefusalReason } from '../metrics/http-metrics.js';
import { createAddressCounts } from './address-counts.js';
import { onLingering } from './linger-close.js';
import { answersNothing, nodeConnections, type NodeConnections } from './node-connections.js';
import { rawSocketOf } from './raw-socket.js';
import { resetConnection } from './reset-connection.js';

// Written instead of the parser ever running: the answer is raw bytes.
const refusal = (detail: string) =>
  rawProblemAnswer(buildProblem('service-unavailable', { detail }), ['Retry-After: 1']);
const TOO_MANY_FROM_ADDRESS = refusal(
  'Too many connections from your address (SERVER_MAX_CONNECTIONS_PER_ADDRESS); retry shortly.',
);
const TOO_MANY = refusal('Too many open connections (SERVER_MAX_CONNECTIONS); retry shortly.');

/**
 * How long a request's headers may take to arrive before its connection may be closed at
 * SERVER_MAX_CONNECTIONS: a sensor's come in one write.
 */
export const SLOW_HEADERS_MS = 1000;

/**
 * How long a connection must have read nothing since it opened before it may be closed at
 * SERVER_MAX_CONNECTIONS: one accepted in this or a recent poll phase has often not been read yet
 * though its client sent its request with the connect (seen unread up to 106 ms old on a loaded
 * loop). Short, so a flood of silent connections must open SERVER_MAX_CONNECTIONS of them every
 * 250 ms to keep a sensor out.
 */
export const SILENT_MS = 250;

/**
 * How long a connection kept alive between two requests must have read nothing before it may be
 * closed to make room: a sensor sending as it is closed loses that alert.
 */
export const KEPT_ALIVE_QUIET_MS = 1000;

export interface ConnectionLimits {
  /** Open connections of this listener. */
  total: number;
  /** Open connections from one client address. */
  perAddress: number;
}

/**
 * Closes a new connection from an address that already holds `perAddress` open ones, so one client
 * cannot hold every socket (and the bodies behind them); and bounds the listener's connections
 * (file descriptors) for clients spread over many addresses: at `total` the new one is refused and
 * the connections that lose nothing by it are closed (silent for SILENT_MS since they opened;
 * kept-alive ones quiet for KEPT_ALIVE_QUIET_MS: a sensor reconnects for its next alert), and those
 * whose headers are slower than SLOW_HEADERS_MS, so neither silent connections nor a slowloris hold
 * every descriptor until their header timeout; on TLS a handshake not done in SLOW_HEADERS_MS counts
 * as slow headers. Before a newcomer is refused, a connection lingering after its answer is closed
 * in its place (told to `onRefused` as `lingering`): any at `total`, one of the newcomer's address
 * at `perAddress`. A refused connection gets a 503 problem first on plain HTTP and nothing of it is
 * read; a TLS one is closed before its handshake. `onRefused` is told of each.
 */
export function limitConnections(
  server: http.Server | https.Server,
  limits: ConnectionLimits,
  onRefused: (reason: ConnectionRefusalReason, caller: string) => void,
): void {
  const open = createAddressCounts();
  /**
   * The admitted sockets, with when each was admitted. Every time here is on the monotonic clock:
   * on the wall clock, a step forward made young connections silent and closed them unread.
   */
  const sockets = new Map<Socket, number>();
  const tls = server instanceof https.Server;
  /** TLS: the raw sockets whose handshake is done (from then on in Node's own list). */
  const handshaken = new WeakSet<Socket>();
  /** TLS: when a sweep first saw a handshake begun (bytes read), which its SLOW_HEADERS_MS count from. */
  const begunSeen = new WeakMap<Socket, number>();
  /**
   * Admitted connections lingering after their answer (linger-close.ts), by address: answered, they
   * only wait (up to LINGER_MS) for their client's FIN, and give their place up to a newcomer at a cap.
   */
  const lingering = new Map<string, Set<Socket>>();
  // The close lingers on the TLS socket; the raw one beneath it is what is admitted, and closes both.
  onLingering(server, (socket) => {
    const admitted = tls ? rawSocketOf(socket as TLSSocket) : socket;
    if (!admitted || !sockets.has(admitted)) return;
    const address = admitted.remoteAddress ?? '';
    lingering.set(address, (lingering.get(address) ?? new Set<Socket>()).add(admitted));
  });
  if (tls)
    server.on('secureConnection', (tlsSocket: TLSSocket) => {
      const raw = rawSocketOf(tlsSocket);
      if (raw) handshaken.add(raw);
    });
  const release = (socket: Socket, address: string) => {
    if (!sockets.delete(socket)) return;
    open.remove(address);
    const held = lingering.get(address);
    if (held?.delete(socket) && held.size === 0) lingering.delete(address);
  };
  // Closes a lingering connection of `address` (of any address without one), its place free at
  // once: it loses at most an answer its client has not read yet, where a refused newcomer loses
  // its request. Held instead, a flood had only to reconnect every LINGER_MS to keep the cap.
  // Counted and logged as a slowloris closed at the cap is: uncounted, a cap kept full by lingering
  // connections showed nowhere. One already closing on its own (its 'close' still to come) is not.
  // Reset, at once (its place is wanted now): closed behind its FIN, an answer its client never read
  // stayed in the kernel (FIN-WAIT-1, up to 4 MiB) with its place free, so an address could churn
  // its cap without bound (reset-connection.ts).
  const giveUpLingering = (address?: string): boolean => {
    const from = address ?? lingering.keys().next().value;
    const socket = from === undefined ? undefined : lingering.get(from)?.values().next().value;
    if (from === undefined || !socket) return false;
    if (!socket.destroyed) onRefused('lingering', from);
    release(socket, from);
    resetConnection(socket);
    return true;
  };
  const refuse = (socket: Socket, address: string, reason: ConnectionRefusalReason, answer: string) => {
    onRefused(reason, address);
    // Node's HTTP listener, which would handle its errors, is not attached (below): a reset would throw.
    socket.on('error', () => {});
    if (tls) return socket.destroy();
    // What the client sends is read and dropped, so closing does not reset the answer away.
    socket.resume();
    socket.end(answer, () => socket.destroy());
  };
  // Closing these loses nothing: silent for SILENT_MS since they opened, or kept alive between two
  // requests with nothing of the next one read (Node's own idle ones). A request is under way from
  // its first byte read, as for Node's closeIdleConnections: closing every connection not yet
  // answering one lost a kept-alive sensor's next alert without a word (Falco 0.40: "Failure when
  // receiving data from the peer", 2 of 1,000). A connection silent for less than SILENT_MS is kept:
  // closing every silent one lost 483 of 6,000 alerts sent a connection each at
  // SERVER_MAX_CONNECTIONS=20, closed unread and counted nowhere. Headers slower than
  // SLOW_HEADERS_MS (a slowloris) are closed as well, counted and logged, so they cannot hold every
  // descriptor until their header timeout.
  // When the last sweep ran: a connection is silent once it had read nothing SILENT_MS after its
  // admission at a sweep before this one. Counted up to this sweep, one whose request came while
  // the loop was in a long poll phase (a handshake storm at the cap) was closed unread, its request
  // not yet read from the kernel (a sensor accepted ~400 ms before a 600 ms callback and sending
  // during it: closed unanswered, counted nowhere, 3 of 3).
  let lastSweepAt = -Infinity;
  const closeWhatLosesNothing = () => {
    const connections = nodeConnections(server);
    if (!connections) {
      server.closeIdleConnections();
      return 0;
    }
    // Read by now: what any client sent before the last sweep (a turn of the loop ago, or more).
    const readBy = lastSweepAt;
    lastSweepAt = performance.now();
    let closed = 0;
    for (const { socket } of connections.expired(SLOW_HEADERS_MS, 0)) {
      if (!socket) continue;
      // Nothing read yet: silent only as below (Node counts its headers' time from the connection).
      if (socket.bytesRead === 0 && (sockets.get(socket) ?? -Infinity) > readBy - SILENT_MS) continue;
      if (socket.bytesRead > 0) onRefused('slow_headers', socket.remoteAddress ?? '');
      // Reset: a kept-alive client may have left its last answer unread in the kernel, where a FIN
      // behind it kept it once the slot was free (reset-connection.ts).
      resetConnection(socket);
      closed++;
    }
    closed += closeBeforeHandshake(false, readBy);
    return closed === 0 ? closeQuietKeptAlive(connections, readBy) : closed;
  };
  // Closes the raw sockets too silent or too slow to reach Node's list; `handshakesOnly`: the slow
  // handshakes alone (a spared one's second look, the listener maybe below its cap by then).
  const closeBeforeHandshake = (handshakesOnly: boolean, readBy = -Infinity) => {
    // Node lists a TLS connection only once its handshake is done; before, the raw socket is all
    // there is: silent for SILENT_MS, or a handshake begun and not done in SLOW_HEADERS_MS (a
    // sensor's takes a round trip or two), it goes as a silent or slow plain one would. Left to the
    // handshake timeout (SERVER_HEADERS_TIMEOUT_MS), stalled handshakes held every descriptor ten
    // times as long as stalled headers on the plain port. A handshake's SLOW_HEADERS_MS count from
    // when a sweep first saw it begun, not from its connection: this listener reads the ClientHello
    // (and answers it) only when its loop gets to it, and counted from the connection a sensor whose
    // ClientHello waited behind a busy loop (a handshake storm, a long GC, CPU throttling) was
    // closed as slow_headers as soon as it was answered, before it could finish, and lost its alert.
    const now = performance.now();
    let closed = 0;
    let sparedUntil = Infinity;
    for (const [socket, admitted] of sockets) {
      if (socket.destroyed || (tls && handshaken.has(socket))) continue;
      if (socket.bytesRead === 0) {
        if (handshakesOnly || admitted > readBy - SILENT_MS) continue;
        socket.destroy();
        closed++;
      } else if (tls) {
        // The second look is at the handshakes a sweep at the cap spared, not at every one under way
        // then: taking those in too kept it looking every second below the cap for good, and closed
        // as slow a handshake begun below it (left to the handshake timeout there).
        if (handshakesOnly && !begunSeen.has(socket)) continue;
        const begun = begunSeen.get(socket) ?? now;
        begunSeen.set(socket, begun);
        if (begun > now - SLOW_HEADERS_MS) {
          sparedUntil = Math.min(sparedUntil, begun + SLOW_HEADERS_MS);
          continue;
        }
        onRefused('slow_headers', socket.remoteAddress ?? '');
        socket.destroy();
        closed++;
      }
    }
    // A handshake spared now is looked at again once its time is up, cap or not.
    if (sparedUntil !== Infinity) lookAgainAt(sparedUntil - now);
    return closed;
  };
  // Kept-alive ones go only when nothing else made room, and once they have read nothing for
  // KEPT_ALIVE_QUIET_MS (seen at two sweeps): a sensor may be sending its next request as its
  // connection closes, and gets no answer to it (real Falco 0.40, its one connection closed at each
  // sweep: 14 of 1,000 alerts lost, 11 "Failure when receiving data from the peer"). Quiet for that
  // long at the sweep before this one, as a silent one above: a next request sent while the loop was
  // in a long poll phase is read only after this sweep (quiet up to this one, a sensor's connection
  // was closed with its next alert unread, 3 of 3).
  const quiet = new WeakMap<Socket, { bytesRead: number; since: number }>();
  const closeQuietKeptAlive = (connections: NodeConnections, readBy: number) => {
    const now = performance.now();
    let closed = 0;
    for (const { socket } of connections.idle()) {
      if (!socket || !answersNothing(socket)) continue;
      const seen = quiet.get(socket);
      if (seen?.bytesRead !== socket.bytesRead)
        quiet.set(socket, { bytesRead: socket.bytesRead, since: now });
      else if (readBy - seen.since >= KEPT_ALIVE_QUIET_MS) {
        // Reset, as giveUpLingering's: a client that read its answer loses nothing, and what the
        // kernel still held of one it never read went with the FIN's socket nowhere (FIN-WAIT-1).
        resetConnection(socket);
        closed++;
      }
    }
    return closed;
  };
  // After this turn's reads, so a kept-alive connection whose next request came in with the new
  // connection has begun it (and is kept); one sweep for the connections refused meanwhile. While
  // sweeps close nothing and the listener stays at its cap, it looks again every SILENT_MS, when
  // what was too young (or a kept-alive one not yet quiet long enough) may be closable, so the next
  // newcomer finds room without being refused first.
  let sweep: NodeJS.Immediate | undefined;
  let followUp: NodeJS.Timeout | undefined;
  // A handshake spared by a sweep (closeWhatLosesNothing) is swept again when its time is up.
  let spared: NodeJS.Timeout | undefined;
  const lookAgainAt = (ms: number) => {
    spared ??= setTimeout(() => {
      spared = undefined;
      closeBeforeHandshake(true);
    }, ms).unref();
  };
  const makeRoom = () => {
    sweep ??= setImmediate(() => {
      sweep = undefined;
      if (closeWhatLosesNothing() > 0 || sockets.size < limits.total) return;
      followUp ??= setTimeout(() => {
        followUp = undefined;
        makeRoom();
      }, SILENT_MS).unref();
    });
  };
  const atAddressCap = (address: string) => open.get(address) >= limits.perAddress;
  const admit = (socket: Socket): boolean => {
    const address = socket.remoteAddress ?? '';
    // Before a refusal, a lingering connection gives its place up: any at the total cap, but one of
    // this address when the address is at its cap too (another's would leave it refused there).
    if (sockets.size >= limits.total && !giveUpLingering(atAddressCap(address) ? address : undefined)) {
      makeRoom();
      refuse(socket, address, 'max_connections', TOO_MANY);
      return false;
    }
    if (atAddressCap(address) && !giveUpLingering(address)) {
      refuse(socket, address, 'max_connections_per_address', TOO_MANY_FROM_ADDRESS);
      return false;
    }
    sockets.set(socket, performance.now());
    open.add(address);
    socket.once('close', () => release(socket, address));
    return true;
  };
  // Node's server hands each connection to its HTTP parser (or TLS) from the 'connection' listener
  // its constructor added, and the parser reads straight from the socket's handle: end() did not
  // stop it, so a refused connection's request was answered 503 and still stored, logged and
  // counted. That listener now hears of admitted connections only.
  const handlers = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    if (admit(socket)) for (const handler of handlers) handler.call(server, socket);
  });
}
