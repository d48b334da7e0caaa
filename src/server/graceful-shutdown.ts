import type http from 'node:http';
import type https from 'node:https';
import type { Logger } from 'pino';
import type { ConnectionTracker } from './connection-tracker.js';
import type { Lifecycle } from './lifecycle.js';

export interface ShutdownDeps {
  /** Every listener (plain HTTP, and the TLS one when enabled) with its connection tracker. */
  listeners: Array<{ server: http.Server | https.Server; connections: ConnectionTracker }>;
  lifecycle: Lifecycle;
  logger: Logger;
  /** Time to keep serving after readiness turns off, so load balancers stop sending. */
  delayMs: number;
  /** Deadline for in-flight requests; connections still open then are cut. */
  timeoutMs: number;
  /** Work to finish before the listener closes (end live streams, stop schedulers). */
  beforeClose?: Array<() => void | Promise<void>>;
  /**
   * Work started as the listeners close, alongside the drain, and awaited before shutdown
   * completes (running triggers' cleanup): each bounds its own wait and resolves false when it
   * was cut short, which makes the shutdown not drained.
   */
  alongside?: Array<() => Promise<boolean>>;
  /**
   * Work once the requests have drained (or been cut) and the `alongside` work ended, before the
   * last line: queued alerts' last chance to reach the shared store, which names those it could not.
   */
  afterClose?: Array<() => Promise<void>>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Readiness off, wait `delayMs`, stop accepting, let in-flight requests finish (up to `timeoutMs`)
 * and the `alongside` work end, then flush the log. Resolves true when everything drained in time.
 */
export async function shutdownGracefully(deps: ShutdownDeps): Promise<boolean> {
  const { listeners, logger } = deps;
  deps.lifecycle.beginShutdown();
  logger.info(
    { event: 'shutdown_started', delayMs: deps.delayMs, timeoutMs: deps.timeoutMs },
    'shutting down',
  );
  if (deps.delayMs > 0) await sleep(deps.delayMs);
  for (const task of deps.beforeClose ?? []) await task();
  // One that throws did not finish its part either.
  const alongside = Promise.all((deps.alongside ?? []).map((task) => task().catch(() => false)));

  const closed = Promise.all(
    listeners.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
  // Idle sockets would hold close() open until their timeout; sockets whose last request just
  // finished become idle later, hence the repeat.
  const closeIdle = () => listeners.forEach(({ connections }) => connections.closeIdle());
  closeIdle();
  const sweeper = setInterval(closeIdle, 50);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), deps.timeoutMs);
  });
  const outcome = await Promise.race([closed.then(() => 'drained' as const), deadline]);
  clearTimeout(timer);
  clearInterval(sweeper);
  // Connections lingering after their answer (linger-close.ts, up to LINGER_MS) have nothing left
  // to deliver: kept to the deadline for their clients to read the answer, then cut, they leave the
  // shutdown drained. (With SHUTDOWN_TIMEOUT_MS below LINGER_MS, one of them alone made it exit 1.)
  const cut =
    outcome === 'timeout' &&
    !(await Promise.all(listeners.map(({ connections }) => connections.onlyLingering()))).every(Boolean);
  if (cut)
    logger.warn(
      { event: 'shutdown_timeout' },
      'in-flight requests did not finish in time; closing connections',
    );
  if (outcome === 'timeout') for (const { server } of listeners) server.closeAllConnections();
  // Their own warnings (what a trigger may have left, alerts the shared store did not take) come
  // before the last line: after it, a reader of the log took them for lines of the next start.
  const ended = (await alongside).every(Boolean);
  // One that throws must not keep the last line, and the exit, from coming.
  for (const task of deps.afterClose ?? []) await task().catch(() => undefined);
  const drained = !cut && ended;
  logger.info({ event: 'shutdown_complete', drained }, 'shutdown complete');
  logger.flush();
  return drained;
}
