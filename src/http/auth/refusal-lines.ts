import type { Request } from 'express';
import type { Logger } from 'pino';
import { countedLines, type CountedLines } from '../../logging/counted-lines.js';

/** After the first line of a kind of refusal, at most one line per this many ms, with the count since. */
export const REFUSAL_LOG_EVERY_MS = 10_000;

/**
 * Most kinds of refusal (the fields of its line: for `auth_refused` route group, reason, address,
 * proxy user) with lines of their own in one table; the kinds past it share one line per
 * REFUSAL_LOG_EVERY_MS (`overflow: true`). A kind is forgotten once a period passes without it, so
 * the table holds the kinds of about the last period. A kind writes at most about a line per period
 * while it is kept, so whatever addresses a client sprays (an IPv6 /64) there are about
 * (MAX_REFUSAL_KINDS + 1) lines per period and table: 10 a second.
 */
export const MAX_REFUSAL_KINDS = 100;

/** The line a table writes for its refusals; each kind's fields go beside `event`, with `count`. */
export interface RefusalLine {
  event: string;
  level: 'info' | 'warn';
  message: string;
}

/** One event's lines of refused requests, counted per kind (see MAX_REFUSAL_KINDS). */
export interface RefusalLines<F extends object> {
  /**
   * One more refused request of the kind `fields` name (never what the client sent: they are its
   * line's fields and its key); its request logger writes the line (with its reqId).
   */
  add(req: Request, fields: F): void;
  /**
   * Logs what the periods held back and forgets every kind: the composition root calls it when a
   * listener closes or the process exits (ServerOptions.flushLines), as the timers are unref'd.
   */
  flush(): void;
  /** Kinds currently kept (at most MAX_REFUSAL_KINDS). */
  size(): number;
}

/**
 * With a line per refused request, a client the service refuses (no credentials, which are not
 * counted towards AUTH_FAILURE_LIMIT; a wrong ingest path) had a line written for every request it
 * could send. The first of a kind is logged at once, its repeats summed in a line per period, and
 * the counts add up to the refusals the owner's metric counts. Each event has a table of its own,
 * so one client's spray does not fold another event's kinds (a sensor's wrong URL) into overflow.
 */
export function createRefusalLines<F extends object>(line: RefusalLine): RefusalLines<F> {
  const overflowMessage = `${line.message} (kinds past the ${MAX_REFUSAL_KINDS} logged on their own; fields of the newest)`;
  const write = (log: Logger, fields: object, message: string) => log[line.level](fields, message);
  const kinds = new Map<string, CountedLines<Logger>>();
  const overflow = countedLines<{ log: Logger; fields: F }>(REFUSAL_LOG_EVERY_MS, (count, { log, fields }) =>
    write(log, { event: line.event, ...fields, count, overflow: true }, overflowMessage),
  );
  const flush = () => {
    kinds.forEach((lines) => lines.flush());
    kinds.clear();
    overflow.flush();
  };
  const linesOf = (fields: F) => {
    // Each owner builds its fields in one order, so equal kinds have equal keys.
    const key = JSON.stringify(Object.values(fields));
    const known = kinds.get(key);
    if (known || kinds.size >= MAX_REFUSAL_KINDS) return known;
    const lines = countedLines<Logger>(
      REFUSAL_LOG_EVERY_MS,
      (count, log) => write(log, { event: line.event, ...fields, count }, line.message),
      () => kinds.delete(key),
    );
    kinds.set(key, lines);
    return lines;
  };
  return {
    add(req, fields) {
      const lines = linesOf(fields);
      if (lines) lines.add(1, req.log);
      else overflow.add(1, { log: req.log, fields });
    },
    flush,
    size: () => kinds.size,
  };
}
