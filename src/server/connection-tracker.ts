import type http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';

/** Knows which sockets have a request in flight, so shutdown can close every other one. */
export interface ConnectionTracker {
  /** Destroys every socket with no request in flight (including ones that never sent a request). */
  closeIdle(): void;
}

/**
 * Tracks the server's sockets. Node's own `closeIdleConnections` leaves alone a socket that has
 * connected but not yet sent a request, which would hold a graceful shutdown open until timeout.
 */
export function trackConnections(server: http.Server | https.Server): ConnectionTracker {
  const inFlight = new Map<Socket, number>();
  // On a TLS listener requests arrive on the TLS socket, which exists once the handshake is done.
  const event = server instanceof https.Server ? 'secureConnection' : 'connection';
  server.on(event, (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.on('close', () => inFlight.delete(socket));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    res.on('close', () => {
      if (inFlight.has(socket)) inFlight.set(socket, Math.max(0, (inFlight.get(socket) ?? 1) - 1));
    });
  });
  return {
    closeIdle() {
      for (const [socket, count] of inFlight) if (count === 0) socket.destroy();
    },
  };
}
