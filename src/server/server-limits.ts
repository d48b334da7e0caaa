import type http from 'node:http';
import type https from 'node:https';
import type { ServerLimits } from '../config/hardening-env.js';
import { limitConnectionsPerAddress } from './connections-per-address.js';

/** Options that only work at creation time (the header size cap and the timeout check interval). */
export function listenerOptions(limits: ServerLimits | undefined): http.ServerOptions {
  if (!limits) return {};
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks header/request deadlines on this interval (30 s by default), so short timeouts need a short one.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))),
  };
}

/**
 * Sets the keep-alive limits (idle sockets close after keepAliveTimeout, busy ones after N
 * requests) and the cap on connections per client address, counting each refused one.
 */
export function applyServerLimits(
  server: http.Server | https.Server,
  limits: ServerLimits | undefined,
  onRefusedConnection: () => void = () => {},
): void {
  if (!limits) return;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  limitConnectionsPerAddress(server, limits.maxConnectionsPerAddress, onRefusedConnection);
}
