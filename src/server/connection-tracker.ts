import type http from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';

/** Knows which sockets have a request in flight, so shutdown can close every other one. */
export interface ConnectionTracker {
  /** Destroys every socket with no request in flight (including ones that never sent a request). */
  closeIdle(): void;
}

/** Node's own list of a listening server's connections (the one its header and request timeouts walk). */
interface NodeConnections {
  all(): Array<{ socket?: Socket & { _httpMessage?: unknown } }>;
}

function nodeConnections(server: http.Server | https.Server): NodeConnections | undefined {
  const key = Object.getOwnPropertySymbols(server).find(
    (symbol) => symbol.description === 'http.server.connections',
  );
  const list = key && (server as unknown as Record<symbol, Partial<NodeConnections> | undefined>)[key];
  return typeof list?.all === 'function' ? (list as NodeConnections) : undefined;
}

/**
 * Reads the server's sockets from the list Node keeps anyway (node:http's `kConnections`, Node 18.2
 * and later) rather than mirroring every socket in a Map of our own: with a connection per alert
 * (Falco 0.34), a Map holding each socket until it closed more than doubled the scavenger's time
 * (3.7 against 1.5 us per alert, the same server answering with and without the Map). Node's own
 * `closeIdleConnections` leaves alone a socket that has connected but not yet sent a request, which
 * would hold a graceful shutdown open until its header timeout; this closes it too. A socket has a
 * request in flight while a response is attached to it (`_httpMessage`, which Node's
 * `closeIdleConnections` reads as well): from the moment its request's headers are complete until
 * its response is finished.
 */
export function trackConnections(server: http.Server | https.Server): ConnectionTracker {
  return {
    closeIdle() {
      const connections = nodeConnections(server);
      // A Node without the list: its own idle sweep (a silent socket then waits for headersTimeout).
      if (!connections) return server.closeIdleConnections();
      for (const { socket } of connections.all()) if (socket && !socket._httpMessage) socket.destroy();
    },
  };
}
