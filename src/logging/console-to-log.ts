import { format } from 'node:util';
import type { Logger } from 'pino';
import { countedLines } from './counted-lines.js';

/** At most one `console_output` line per this many milliseconds (the first at once). */
export const CONSOLE_LOG_EVERY_MS = 10_000;
// The longest text a line keeps of what was printed (a stack trace fits).
const MAX_TEXT_CHARS = 4_096;
const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/**
 * Sends what libraries print with `console.*` into the log as `console_output` lines. stdout is the
 * log, one JSON line per event, which log pipelines parse; node-redis's Sentinel discovery prints
 * each failed round's error there with console.log, a stack trace of several lines, every second
 * while no Sentinel answers for the master. The first at once, then at most a line per
 * CONSOLE_LOG_EVERY_MS with the count since the last and the newest text.
 */
export function routeConsoleToLog(logger: Logger): void {
  const lines = countedLines<{ method: string; text: string }>(CONSOLE_LOG_EVERY_MS, (count, newest) =>
    logger.warn(
      { event: 'console_output', count, ...newest },
      'a library printed to the console (its newest text)',
    ),
  );
  for (const method of METHODS)
    // eslint-disable-next-line no-console -- the one place that replaces them
    console[method] = (...args: unknown[]) =>
      lines.add(1, { method, text: format(...args).slice(0, MAX_TEXT_CHARS) });
}
