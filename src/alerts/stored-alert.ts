import type { FalcoAlert } from './falco-alert-schema.js';

/** An accepted alert as the store keeps it. */
export interface StoredAlert {
  /** Unique id given on receipt (UUID v4). */
  id: string;
  /** When this service received the alert, ISO 8601 in UTC. */
  receivedAt: string;
  /** `receivedAt` as epoch milliseconds. */
  receivedAtMs: number;
  /** The alert's own `time` as epoch milliseconds. */
  timeMs: number;
  /** `source`, or `internal` for Falco's internal alerts that carry none (0.34), else `unknown`. */
  source: string;
  /** Size of the request body in bytes: what the store counts against its byte budget. */
  bytes: number;
  /** The alert as Falco sent it (unknown extra keys included). */
  alert: FalcoAlert;
}

const INTERNAL_RULE_PREFIX = 'Falco internal:';

/** The event source of an alert, filling in what Falco 0.34 leaves out for internal alerts. */
export function resolveSource(alert: FalcoAlert): string {
  if (alert.source !== undefined && alert.source !== '') return alert.source;
  return alert.rule.startsWith(INTERNAL_RULE_PREFIX) ? 'internal' : 'unknown';
}
