import { pino, type DestinationStream, type Logger } from 'pino';
import { isoTime } from './iso-time.js';
import type { LinePart } from './line-group.js';
import { logSafeText } from './log-safe.js';

export interface LoggerOptions {
  level: string;
  /** Where lines go; stdout when absent. Tests pass a stream and read lines back as objects. */
  destination?: DestinationStream;
}

// Secrets never reach a log line. Exact paths only: a wildcard would also rewrite an alert's own
// fields (a Falco output field named token) in the durable log, and costs time on every line.
const REDACT = [
  'token',
  'authorization',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'config.triggers.token',
  'config.auth.viewerTokens',
  'config.auth.metricsTokens',
  'config.auth.sessionSecrets',
  'headers["x-csrf-token"]',
  'req.headers["x-csrf-token"]',
];

/**
 * The service's pino logger: JSON lines, ISO time, secrets redacted, and DEL, C1 controls, U+2028
 * and U+2029 escaped (pino's JSON leaves them raw; log-safe.ts says why they must not be).
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'falco-alert-receiver' },
      // pino.stdTimeFunctions.isoTime's format, from the per-millisecond cache.
      timestamp: () => `,"time":"${isoTime(Date.now())}"`,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      // The finished line, child loggers' too.
      hooks: { streamWrite: logSafeText },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** Where `logger`'s lines go (its pino destination). */
export function streamOf(logger: Logger): DestinationStream {
  return (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;
}

/** Fields of a log line: strings, numbers, booleans and plain objects without bigints. */
export type LineFields = Record<string, string | number | boolean | object | undefined>;

/**
 * Writes one info line in exactly the format of `createLogger`'s lines, with `rawJson` as the value
 * of `rawKey`. `rawJson` (text, or its UTF-8 bytes) must be one JSON value on one line, already
 * proven valid (an alert body the strict parser accepted): it is copied as it is, so every digit of
 * a 64-bit nanosecond timestamp stays, and pino does not serialise the alert a second time (its
 * JSON.stringify throws on the bigint first, then safe-stable-stringify runs: most of an alert's
 * ingest cost). The bindings of `logger` (its `base`) come from pino itself; the fields are written
 * with JSON.stringify. The line goes to `out` (a group commit's held lines, which escapes what
 * `logSafeBytes` escapes when it writes them), or else to the logger's own destination, escaped as
 * pino's own lines are.
 */
export function writeRawJsonLine(
  logger: Logger,
  fields: LineFields,
  rawKey: string,
  rawJson: string | Buffer,
  msg: string,
  out: Pick<DestinationStream, 'write'> & { writeParts?: (parts: readonly LinePart[]) => void } = streamOf(
    logger,
  ),
): void {
  if (!logger.isLevelEnabled('info')) return;
  const bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym];
  let line = `{"level":"info","time":"${isoTime(Date.now())}"${bindings}`;
  for (const key in fields) {
    const value = fields[key];
    if (value !== undefined) line += `${keyPart(key)}${JSON.stringify(value)}`;
  }
  line += keyPart(rawKey);
  const tail = `${keyPart('msg')}${JSON.stringify(msg)}}\n`;
  // A group commit takes the pieces, so the alert's text is not copied into a line string.
  if (out.writeParts) out.writeParts([line, rawJson, tail]);
  else out.write(logSafeText(`${line}${rawJson.toString()}${tail}`));
}

// `,"key":` for each key written by writeRawJsonLine: its callers write a few fixed keys, and
// JSON.stringify of each key on every line cost as much as the values'.
const KEY_PARTS = new Map<string, string>();
const MAX_KEY_PARTS = 64;

function keyPart(key: string): string {
  let part = KEY_PARTS.get(key);
  if (part === undefined) {
    part = `,${JSON.stringify(key)}:`;
    if (KEY_PARTS.size < MAX_KEY_PARTS) KEY_PARTS.set(key, part);
  }
  return part;
}
