import type http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SILENT_MS, SLOW_HEADERS_MS } from './connections-per-address.js';
import { LINGER_MS, lingers, lingerThenReset, onLingering } from './linger-close.js';
import { resetConnection } from './reset-connection.js';
import { answersNothing, nodeConnections } from './node-connections.js';
import { rawSocketOf } from './raw-socket.js';

/** Knows which sockets have a request in flight, so shutdown can close every other one. */
export interface ConnectionTracker {
  /**
   * Destroys the sockets that lose nothing by it: kept alive between two requests, silent for
   * SILENT_MS (since this first saw them), or silent or slow with their headers for SLOW_HEADERS_MS.
   * Shutdown calls it every 50 ms while it drains.
   */
  closeIdle(): void;
  /**
   * Whether every connection still open only lingers after its answer (linger-close.ts): none has
   * a request in flight or an answer left to deliver (true when none is open). False when that cannot
   * be told.
   */
  onlyLingering(): Promise<boolean>;
}

/**
 * Keeps the raw sockets of an HTTPS server's connections whose TLS handshake has not completed, and
 * returns what destroys them. Node puts a TLS connection in its list only at 'secureConnection', so
 * a client that connected to TLS_PORT and sent nothing held a graceful shutdown open until
 * SHUTDOWN_TIMEOUT_MS (drained:false, exit 1), where the same silent client on the plain port was
 * closed at once. A socket leaves the set when its handshake completes, found by rawSocketOf
 * (Node's undocumented `_parent`): should that ever not lead back to a socket in
 * the set, nothing is closed here any more, as before, since a socket that may carry a request must
 * not be. Kept for TLS listeners only: plain ones hold no state per socket (trackConnections).
 */
function trackHandshakes(server: https.Server): () => void {
  let handshaking: Set<Socket> | undefined = new Set();
  server.on('connection', (socket: Socket) => {
    if (!handshaking) return;
    handshaking.add(socket);
    socket.once('close', () => handshaking?.delete(socket));
  });
  server.on('secureConnection', (tlsSocket: TLSSocket) => {
    const raw = rawSocketOf(tlsSocket);
    if (!raw || !handshaking?.delete(raw)) handshaking = undefined;
  });
  return () => {
    for (const socket of handshaking ?? []) socket.destroy();
  };
}

/**
 * Reads the server's sockets from the list Node keeps anyway (node:http's `kConnections`, Node 18.2
 * and later) rather than mirroring every socket in a Map of our own: with a connection per alert
 * (Falco 0.34), a Map holding each socket until it closed more than doubled the scavenger's time
 * (3.7 against 1.5 us per alert, the same server answering with and without the Map). Node's own
 * `closeIdleConnections` leaves alone a socket that has connected but not yet sent a request, which
 * would hold a graceful shutdown open until its header timeout; this closes it too once silent for
 * SILENT_MS (a younger one may hold a request not read yet: closing it lost the alert unseen), and
 * on TLS the sockets still in their handshake, which are not in that list (trackHandshakes). A
 * request whose headers have begun is left to finish (answered with `Connection: close`), unless
 * they are slower than SLOW_HEADERS_MS. A socket has a
 * request in flight while a response is attached to it (`_httpMessage`, which Node's
 * `closeIdleConnections` reads as well): from the moment its request's headers are complete until
 * its response is finished.
 */
export function trackConnections(server: http.Server | https.Server): ConnectionTracker {
  const closeHandshakes = server instanceof https.Server ? trackHandshakes(server) : () => {};
  // When each silent socket was first seen here (shutdown calls closeIdle every 50 ms).
  const silentSince = new WeakMap<Socket, number>();
  // Sockets that came to linger with their answer gone, as their listener tells (CONNECTs' too,
  // which node:http leaves out of its list of connections); each leaves the set when it closes.
  const lingering = new Set<Socket>();
  onLingering(server, (socket) => {
    lingering.add(socket);
    socket.once('close', () => lingering.delete(socket));
  });
  return {
    closeIdle() {
      closeHandshakes();
      const connections = nodeConnections(server);
      // A Node without the list: its own idle sweep (a silent socket then waits for headersTimeout).
      if (!connections) return server.closeIdleConnections();
      // Kept alive between two requests, nothing of the next one read: closing loses nothing once
      // its client has read what the kernel still holds of its answer (reset at once, one still
      // reading lost the rest). Closed as at the keep-alive timeout, for LINGER_MS at most: then an
      // answer its client never read stays in no kernel.
      for (const { socket } of connections.idle())
        if (socket && answersNothing(socket)) lingerThenReset(socket, LINGER_MS);
      // Silent, or headers still arriving, for SLOW_HEADERS_MS since they began: reset, as the caps'
      // sweep does, for a last answer left unread in the kernel.
      for (const { socket } of connections.expired(SLOW_HEADERS_MS, 0)) if (socket) resetConnection(socket);
      // Silent for SILENT_MS: a younger one may hold a request not read yet (accepted as the
      // listener closed), as the connection caps found; one whose request has begun finishes it.
      // On the monotonic clock: a step forward of the wall clock closed every silent one at once.
      const now = performance.now();
      for (const { socket } of connections.all()) {
        if (!socket || socket._httpMessage || socket.bytesRead > 0 || socket.destroyed) continue;
        const since = silentSince.get(socket);
        if (since === undefined) silentSince.set(socket, now);
        else if (now - since >= SILENT_MS) socket.destroy();
      }
    },
    async onlyLingering() {
      let count = 0;
      for (const socket of lingering) if (lingers(socket)) count++;
      // Every socket the listener holds, those outside Node's list too (TLS handshakes, CONNECTs).
      const open = await new Promise<number>((resolve) =>
        server.getConnections((error, total) => resolve(error ? -1 : total)),
      );
      return count === open;
    },
  };
}
