import type { Logger } from 'pino';
import { callerAddress } from '../logging/caller-address.js';
import { countedLines } from '../logging/counted-lines.js';
import { refusedConnectionLines } from '../server/log-refused-connections.js';
import type { RefusalLines } from './auth/refusal-lines.js';
import { shedLines, type ShedReason } from './inflight-bodies.js';
import { MAX_PIPELINED_REQUESTS } from './limit-pipelining.js';
import { createUnknownPathLines, type UnknownPathFields } from './routes/refuse-unknown-path.js';

/** After the first `pipelining_paused` line, at most one line per this many ms, with the count since. */
export const PAUSED_LOG_EVERY_MS = 10_000;

/**
 * The counted lines an app writes of what its connections, sheds and misdirected POSTs do: any
 * client that can connect could otherwise have a line written per connection or request. The receiver makes one
 * for all its apps and flushes it with its other lines at a listener's close (createReceiver's
 * flushLines); an app built alone makes its own, whose period's rest its timers write.
 */
export interface AppLines {
  /** A connection closed for pipelining past the held requests (`connection_refused`). */
  refusedConnections: ReturnType<typeof refusedConnectionLines>;
  /** A connection that pipelined past the routed depth (`pipelining_paused`), by its peer address. */
  pausedConnection(remoteAddress: string | undefined): void;
  /** A POST to a path that is not an ingest path (`alert_rejected`, reason `unknown_path`). */
  unknownPaths: RefusalLines<UnknownPathFields>;
  /** An ingest request shed with a 503 (`ingest_shed`), by its peer address. */
  shed(reason: ShedReason, address: string): void;
  /** Writes what the periods held back. */
  flush(): void;
}

export function createAppLines(logger: Logger): AppLines {
  const refusedConnections = refusedConnectionLines(logger);
  const paused = countedLines<string | undefined>(PAUSED_LOG_EVERY_MS, (count, caller) =>
    logger.warn(
      { event: 'pipelining_paused', caller, count, maxPipelined: MAX_PIPELINED_REQUESTS },
      'a connection pipelined more requests than are routed at once: the rest are read as answers go out',
    ),
  );
  const unknownPaths = createUnknownPathLines();
  const sheds = shedLines(logger);
  return {
    refusedConnections,
    unknownPaths,
    pausedConnection: (remoteAddress) => paused.add(1, callerAddress(remoteAddress)),
    shed: sheds.add,
    flush() {
      refusedConnections.flush();
      paused.flush();
      unknownPaths.flush();
      sheds.flush();
    },
  };
}
