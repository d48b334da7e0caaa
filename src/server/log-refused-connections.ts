import type http from 'node:http';
import type https from 'node:https';
import type { Logger } from 'pino';
import { callerLines, flushWhenClosed, type CallerLines } from '../logging/counted-lines.js';
import { CONNECTION_REFUSAL_REASONS, type ConnectionRefusalReason } from '../metrics/http-metrics.js';

/** After a reason's first line, at most one line per this many ms, with the count since. */
export const REFUSED_CONNECTION_LOG_EVERY_MS = 10_000;

const MESSAGES: Record<ConnectionRefusalReason, string> = {
  max_connections_per_address: 'connection refused: its address holds SERVER_MAX_CONNECTIONS_PER_ADDRESS',
  max_connections: 'connection refused: the listener holds SERVER_MAX_CONNECTIONS',
  slow_headers: 'connection closed at SERVER_MAX_CONNECTIONS with its request headers still arriving',
  lingering: 'connection lingering after its answer closed at a connection cap to let a new one in',
  pipelined_requests: 'connection closed: it pipelined more requests behind unwritten answers than are held',
};

/**
 * Logs the connections the connection caps close, as `warn` lines with `event: connection_refused`:
 * a refused sensor's alert is lost (Falco does not send it again), and the metric alone did not say
 * when or from where. Any client that can connect could make a line per connection, so each reason
 * has its first line at once and then one per REFUSED_CONNECTION_LOG_EVERY_MS with the count since
 * and the newest caller's address. What a period holds back is written when the listener closes or
 * the process exits.
 */
export function logRefusedConnections(
  server: http.Server | https.Server,
  logger: Logger,
): (reason: ConnectionRefusalReason, caller: string) => void {
  const lines = refusedConnectionLines(logger);
  flushWhenClosed(server, lines.flush);
  return lines.add;
}

/**
 * The counted lines of logRefusedConnections without a listener of their own: the app's refusals
 * (limit-pipelining.ts), whose app any listener may serve; createAppLines holds them, and the
 * receiver's flushLines writes a period's rest at a listener's close or the exit.
 */
export function refusedConnectionLines(logger: Logger): CallerLines<ConnectionRefusalReason> {
  return callerLines(CONNECTION_REFUSAL_REASONS, REFUSED_CONNECTION_LOG_EVERY_MS, (reason, count, caller) =>
    logger.warn({ event: 'connection_refused', reason, count, caller }, MESSAGES[reason]),
  );
}
