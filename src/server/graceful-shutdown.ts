import type http from 'node:http';
import type https from 'node:https';
import type { Logger } from 'pino';
import type { Lifecycle } from './lifecycle.js';

export interface ShutdownDeps {
  server: http.Server;
  /** Further listeners (the TLS one) drained the same way. */
  moreServers?: https.Server[];
  lifecycle: Lifecycle;
  logger: Logger;
  /** Time to keep serving after readiness turns off, so load balancers stop sending. */
  delayMs: number;
  /** Deadline for in-flight requests; connections still open then are cut. */
  timeoutMs: number;
  /** Work to finish before the listener closes (end live streams, stop schedulers). */
  beforeClose?: Array<() => void | Promise<void>>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Readiness off, wait `delayMs`, stop accepting, let in-flight requests finish (up to `timeoutMs`),
 * then flush the log. Resolves true when everything drained in time.
 */
export async function shutdownGracefully(deps: ShutdownDeps): Promise<boolean> {
  const { server, logger } = deps;
  deps.lifecycle.beginShutdown();
  logger.info(
    { event: 'shutdown_started', delayMs: deps.delayMs, timeoutMs: deps.timeoutMs },
    'shutting down',
  );
  if (deps.delayMs > 0) await sleep(deps.delayMs);
  for (const task of deps.beforeClose ?? []) await task();

  const servers = [server, ...(deps.moreServers ?? [])];
  const closed = Promise.all(
    servers.map((each) => new Promise<void>((resolve) => each.close(() => resolve()))),
  );
  // Idle keep-alive sockets would hold close() open until their timeout.
  for (const each of servers) each.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), deps.timeoutMs);
  });
  const outcome = await Promise.race([closed.then(() => 'drained' as const), deadline]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    logger.warn(
      { event: 'shutdown_timeout' },
      'in-flight requests did not finish in time; closing connections',
    );
    for (const each of servers) each.closeAllConnections();
  }
  logger.info({ event: 'shutdown_complete', drained: outcome === 'drained' }, 'shutdown complete');
  logger.flush();
  return outcome === 'drained';
}
