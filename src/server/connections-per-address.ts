import type http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { buildProblem, rawProblemAnswer } from '../http/problem.js';
import { createAddressCounts } from './address-counts.js';

// Written before the request is read: the parser has not run, so the answer is raw bytes.
const refusal = (detail: string) =>
  rawProblemAnswer(buildProblem('service-unavailable', { detail }), ['Retry-After: 1']);
const TOO_MANY_FROM_ADDRESS = refusal(
  'Too many connections from your address (SERVER_MAX_CONNECTIONS_PER_ADDRESS); retry shortly.',
);
const TOO_MANY = refusal('Too many open connections (SERVER_MAX_CONNECTIONS); retry shortly.');

export interface ConnectionLimits {
  /** Open connections of this listener. */
  total: number;
  /** Open connections from one client address. */
  perAddress: number;
}

// A connection with no request in hand: none sent yet, headers still coming, or kept alive
// between two (Node sets _httpMessage while a request is answered, as answerClientErrors reads it).
function holdsNoRequest(socket: Socket): boolean {
  return (socket as { _httpMessage?: unknown })._httpMessage == null;
}

/**
 * Closes a new connection from an address that already holds `perAddress` open ones, so one client
 * cannot hold every socket (and the bodies behind them); and bounds the listener's connections
 * (file descriptors) for clients spread over many addresses: at `total`, its connections that hold
 * no request are closed (a sensor reconnects for its next alert; libcurl retries a request whose
 * reused connection was closed) and the new one is refused, so connections that hold nothing make
 * room instead of holding every descriptor until their header timeout. On TLS, Node's own idle
 * connections (kept alive between requests) are the ones closed. A refused connection gets a 503
 * problem first on plain HTTP; a TLS one is closed before its handshake. `onRefused` counts each one.
 */
export function limitConnections(
  server: http.Server | https.Server,
  limits: ConnectionLimits,
  onRefused: () => void,
): void {
  const open = createAddressCounts();
  const sockets = new Set<Socket>();
  const tls = server instanceof https.Server;
  const refuse = (socket: Socket, answer: string) => {
    onRefused();
    if (tls) socket.destroy();
    else socket.end(answer);
  };
  const closeIdle = () => {
    if (tls) return server.closeIdleConnections();
    for (const socket of sockets) if (holdsNoRequest(socket)) socket.destroy();
  };
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    if (sockets.size >= limits.total) {
      closeIdle();
      return refuse(socket, TOO_MANY);
    }
    if (open.get(address) >= limits.perAddress) return refuse(socket, TOO_MANY_FROM_ADDRESS);
    sockets.add(socket);
    open.add(address);
    socket.once('close', () => {
      sockets.delete(socket);
      open.remove(address);
    });
  });
}
