import http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import type { ServerLimits } from '../config/hardening-config.js';
import type { ClientErrorReason, ConnectionRefusalReason } from '../metrics/http-metrics.js';
import { continueOnRead } from './continue-on-read.js';
import { answerClientErrors, applyServerLimits, listenerOptions, requireHost } from './server-limits.js';

export interface ServerOptions {
  host: string;
  port: number;
  /** Timeouts and size limits against slow or hostile clients; Node's defaults when absent. */
  limits?: ServerLimits;
  /** Counts a connection the connection caps closed (connections-per-address.ts). */
  onRefusedConnection?: (reason: ConnectionRefusalReason) => void;
  /** Where those are logged as `connection_refused` (log-refused-connections.ts). */
  logger?: Logger;
  /** Counts a request the HTTP parser refused (see answerClientErrors). */
  onClientError?: (reason: ClientErrorReason) => void;
}

/** Binds a created server; resolves once the port is bound. */
export async function listen<S extends http.Server | https.Server>(
  server: S,
  host: string,
  port: number,
): Promise<S> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** Listens with the app; resolves once the port is bound. */
export async function startServer(app: RequestListener, options: ServerOptions): Promise<http.Server> {
  const server = http.createServer(listenerOptions(options.limits), requireHost(app, options.onClientError));
  applyServerLimits(server, options.limits, options.onRefusedConnection, options.logger);
  answerClientErrors(server, options.onClientError);
  continueOnRead(server);
  return listen(server, options.host, options.port);
}

/** The port the server is bound to (useful with port 0). */
export function boundPort(server: http.Server | https.Server): number {
  return (server.address() as AddressInfo).port;
}
