import type http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { buildProblem, rawProblemAnswer } from '../http/problem.js';
import { createAddressCounts } from './address-counts.js';

// Written before the request is read: the parser has not run, so the answer is raw bytes.
const REFUSAL = rawProblemAnswer(
  buildProblem('service-unavailable', {
    detail: 'Too many connections from your address (SERVER_MAX_CONNECTIONS_PER_ADDRESS); retry shortly.',
  }),
  ['Retry-After: 1'],
);

/**
 * Closes a new connection from an address that already holds `max` open ones, so one client
 * cannot hold every socket (and the bodies behind them). On plain HTTP it gets a 503 problem first;
 * a TLS connection is closed before its handshake. `onRefused` counts each one.
 */
export function limitConnectionsPerAddress(
  server: http.Server | https.Server,
  max: number,
  onRefused: () => void,
): void {
  const open = createAddressCounts();
  const tls = server instanceof https.Server;
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    if (open.get(address) >= max) {
      onRefused();
      if (tls) socket.destroy();
      else socket.end(REFUSAL);
      return;
    }
    open.add(address);
    socket.once('close', () => open.remove(address));
  });
}
