import { format } from 'node:util';
import type { Logger } from 'pino';
import { countedLines } from './counted-lines.js';

/** At most one `console_output` line per this many milliseconds (the first at once). */
export const CONSOLE_LOG_EVERY_MS = 10_000;
// The longest text a line keeps of what was printed (a stack trace fits).
const MAX_TEXT_CHARS = 4_096;
const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/**
 * Sends what libraries print with `console.*` into the log as `console_output` lines, and Node's
 * process warnings as `process_warning` lines. stdout is the
 * log, one JSON line per event, which log pipelines parse; node-redis's Sentinel discovery prints
 * each failed round's error there with console.log, a stack trace of several lines, every second
 * while no Sentinel answers for the master. The first at once, then at most a line per
 * CONSOLE_LOG_EVERY_MS with the count since the last and the newest text (and what is left when the
 * process exits).
 */
export function routeConsoleToLog(logger: Logger): void {
  routeWarningsToLog(logger);
  const lines = countedLines<{ method: string; text: string }>(CONSOLE_LOG_EVERY_MS, (count, newest) =>
    logger.warn(
      { event: 'console_output', count, ...newest },
      'a library printed to the console (its newest text)',
    ),
  );
  // What the last period held back is not lost when the process ends.
  process.once('exit', () => lines.flush());
  for (const method of METHODS)
    // eslint-disable-next-line no-console -- the one place that replaces them
    console[method] = (...args: unknown[]) =>
      lines.add(1, { method, text: textOf(method, args).slice(0, MAX_TEXT_CHARS) });
}

// What the console would have printed; console.trace adds where it was called from, as Node's does.
function textOf(method: (typeof METHODS)[number], args: unknown[]): string {
  const text = format(...args);
  if (method !== 'trace') return text;
  const frames = new Error().stack?.split('\n').slice(3) ?? [];
  return [`Trace: ${text}`, ...frames].join('\n');
}

/**
 * Node's process warnings (a listener leak, a deprecated API a dependency calls) as
 * `process_warning` lines instead of text on stderr, which a pod's log pipeline reads with stdout.
 * Node prints them from a 'warning' listener of its own, replaced here (Node adds none with
 * --no-warnings or NODE_NO_WARNINGS=1, and then they stay unlogged, as asked).
 */
function routeWarningsToLog(logger: Logger): void {
  // None with --no-warnings or NODE_NO_WARNINGS=1: then they are not wanted at all.
  if (process.listenerCount('warning') === 0) return;
  process.removeAllListeners('warning');
  process.on('warning', (warning) =>
    logger.warn(
      {
        event: 'process_warning',
        name: warning.name,
        code: (warning as { code?: unknown }).code,
        text: warning.message.slice(0, MAX_TEXT_CHARS),
      },
      'Node.js emitted a process warning',
    ),
  );
}
