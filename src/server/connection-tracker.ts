import type http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { nodeConnections } from './node-connections.js';
import { rawSocketOf } from './raw-socket.js';

/** Knows which sockets have a request in flight, so shutdown can close every other one. */
export interface ConnectionTracker {
  /** Destroys every socket with no request in flight (including ones that never sent a request). */
  closeIdle(): void;
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
 * would hold a graceful shutdown open until its header timeout; this closes it too, and on TLS the
 * sockets still in their handshake, which are not in that list (trackHandshakes). A socket has a
 * request in flight while a response is attached to it (`_httpMessage`, which Node's
 * `closeIdleConnections` reads as well): from the moment its request's headers are complete until
 * its response is finished.
 */
export function trackConnections(server: http.Server | https.Server): ConnectionTracker {
  const closeHandshakes = server instanceof https.Server ? trackHandshakes(server) : () => {};
  return {
    closeIdle() {
      closeHandshakes();
      const connections = nodeConnections(server);
      // A Node without the list: its own idle sweep (a silent socket then waits for headersTimeout).
      if (!connections) return server.closeIdleConnections();
      for (const { socket } of connections.all()) if (socket && !socket._httpMessage) socket.destroy();
    },
  };
}
