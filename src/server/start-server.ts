import http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import type { ServerLimits } from '../config/hardening-config.js';
import { flushWhenClosed } from '../logging/counted-lines.js';
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
  /**
   * Writes the counted lines the app held back (createReceiver's flushLines): called when this
   * listener closes or the process exits, as for the listener's own (log-refused-connections.ts).
   */
  flushLines?: () => void;
}

/** HOST for every address of both families (the image's and k8s/'s): IPv4 clients come as ::ffff:a.b.c.d. */
export const ANY_ADDRESS = '::';
/** Where ANY_ADDRESS is bound when the node has no IPv6 (booted with ipv6.disable=1). */
export const ANY_IPV4_ADDRESS = '0.0.0.0';
// What binding :: fails with on such a node: no AF_INET6 sockets at all, or no IPv6 address.
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);
/**
 * Connections the kernel completes and holds while the loop is busy (a burst, a long parse, a
 * stall): past it, a new connection's SYN is dropped and its client sends it again only 1, 3, 7 s
 * later. Node's default (511) made a burst of 500 connections wait seconds. The kernel caps it at
 * net.core.somaxconn, 4,096 by default since Linux 5.4; each held connection is kernel memory,
 * bounded by that cap, none of the heap.
 */
export const LISTEN_BACKLOG = 4096;

function bind(server: http.Server | https.Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Binds a created server; resolves once the port is bound. HOST=:: (ANY_ADDRESS) takes IPv6 and
 * IPv4 (dual-stack, whatever net.ipv6.bindv6only says); on a node without IPv6, where :: cannot be
 * bound, every IPv4 address instead (as Node does when no host is given): the image runs on
 * IPv4-only, dual-stack and IPv6-only clusters alike. boundAddress says which it got.
 */
export async function listen<S extends http.Server | https.Server>(
  server: S,
  host: string,
  port: number,
): Promise<S> {
  try {
    await bind(server, host, port);
  } catch (error) {
    if (host !== ANY_ADDRESS || !NO_IPV6.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    await bind(server, ANY_IPV4_ADDRESS, port);
  }
  return server;
}

/** Listens with the app; resolves once the port is bound. */
export async function startServer(app: RequestListener, options: ServerOptions): Promise<http.Server> {
  const server = http.createServer(listenerOptions(options.limits), requireHost(app, options.onClientError));
  applyServerLimits(server, options.limits, options.onRefusedConnection, options.logger);
  answerClientErrors(server, options.onClientError);
  if (options.flushLines) flushWhenClosed(server, options.flushLines);
  continueOnRead(server);
  return listen(server, options.host, options.port);
}

/** The port the server is bound to (useful with port 0). */
export function boundPort(server: http.Server | https.Server): number {
  return (server.address() as AddressInfo).port;
}

/** The address the server is bound to: HOST, or 0.0.0.0 where HOST=:: found no IPv6 (see listen). */
export function boundAddress(server: http.Server | https.Server): string {
  return (server.address() as AddressInfo).address;
}
