import type http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { createAddressCounts } from './address-counts.js';

const BODY = JSON.stringify({
  type: 'urn:falco-alert-receiver:problem:service-unavailable',
  title: 'Service unavailable',
  status: 503,
  detail: 'Too many connections from your address (SERVER_MAX_CONNECTIONS_PER_ADDRESS); retry shortly.',
});
// Written before the request is read: the parser has not run, so the answer is raw bytes.
const REFUSAL =
  'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json; charset=utf-8\r\n' +
  `Retry-After: 1\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`;

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
