import { pino, type DestinationStream, type Logger } from 'pino';

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
];

/** The service's pino logger: JSON lines, ISO time, secrets redacted. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'falco-alert-receiver' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
