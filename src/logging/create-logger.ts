import { pino, type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** Where lines go; stdout when absent. Tests pass a stream and read lines back as objects. */
  destination?: DestinationStream;
}

// Secrets never reach a log line, whatever object they arrive in.
const REDACT = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
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
