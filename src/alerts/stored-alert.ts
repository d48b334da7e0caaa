import type { FalcoAlert } from './falco-alert-schema.js';
import type { Priority } from './priority.js';

/** An accepted alert as the store keeps it. */
export interface StoredAlert {
  /** Unique id given on receipt: a UUID (version 8 from this service, alert-ids.ts). */
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
  /** `alert.rule`, `alert.priority` and `alert.hostname`, which queries and summaries read. */
  rule: string;
  priority: Priority;
  hostname?: string;
  /** `alert.tags`, and the namespace (namespaceOf) when it is text: the tag and namespace filters read them. */
  tags?: string[];
  namespace?: string;
  /** The alert as Falco sent it (unknown extra keys included). */
  alert: FalcoAlert;
  /**
   * The alert's JSON text as received (proven valid by the strict parser; a pretty-printed one
   * trimmed and joined onto one line, as its log line has it), when the sink had it:
   * the store keeps this text instead of the parsed alert and parses it again when it is read.
   */
  json?: string;
}

const INTERNAL_RULE_PREFIX = 'Falco internal:';

// A lone surrogate (sent escaped: "R\ud800x") as U+FFFD, which is what Redis keeps of it (node-redis
// writes UTF-8): both stores then filter, count and list the same text. One-byte strings answer at once.
const wellFormed = (text: string) => (text.isWellFormed() ? text : text.toWellFormed());
const wellFormedOrAbsent = (text: string | undefined) => (text === undefined ? undefined : wellFormed(text));
const wellFormedTags = (tags: string[] | undefined) =>
  tags === undefined || tags.every((tag) => tag.isWellFormed()) ? tags : tags.map(wellFormed);

/** The event source of an alert, filling in what Falco 0.34 leaves out for internal alerts. */
function resolveSource(alert: FalcoAlert): string {
  if (alert.source !== undefined && alert.source !== '') return wellFormed(alert.source);
  return alert.rule.startsWith(INTERNAL_RULE_PREFIX) ? 'internal' : 'unknown';
}

/**
 * The Kubernetes namespace an alert happened in, where it names one as text: `k8s.ns.name` (a
 * syscall rule's container), else `ka.target.namespace` (a k8saudit rule's object, such as the pod
 * of "Attach/Exec Pod"): without it a namespace filter missed every audit alert.
 */
function namespaceOf(fields: FalcoAlert['output_fields']): string | undefined {
  const namespace = fields?.['k8s.ns.name'] ?? fields?.['ka.target.namespace'];
  return typeof namespace === 'string' ? wellFormed(namespace) : undefined;
}

/**
 * The fields of a stored alert that come from the alert itself (every sink fills them alike). The
 * text ones, which queries, the dashboard and exports read, are well-formed UTF-16.
 */
export function fieldsFromAlert(
  alert: FalcoAlert,
): Pick<StoredAlert, 'source' | 'rule' | 'priority' | 'hostname' | 'tags' | 'namespace' | 'alert'> {
  const namespace = namespaceOf(alert.output_fields);
  return {
    source: resolveSource(alert),
    rule: wellFormed(alert.rule),
    priority: alert.priority,
    hostname: wellFormedOrAbsent(alert.hostname),
    tags: wellFormedTags(alert.tags),
    namespace,
    alert,
  };
}

/** How far ahead an alert's own time may be of its receipt before its sensor's clock counts as ahead. */
export const CLOCK_AHEAD_MIN_MS = 1000;
/**
 * The most the clock-ahead histogram takes from one alert (a week): a time in the year 9999 still
 * lands in its +Inf bucket, but cannot swell its sum for everyone else.
 */
export const CLOCK_AHEAD_MAX_OBSERVED_SECONDS = 7 * 86_400;
/**
 * The most the delivery-delay histogram takes from one alert (a week), for the same reason: a node
 * booted with its RTC at 1970 until NTP fixed it sends alerts 56 years late, each past 900 s (+Inf).
 */
export const DELIVERY_DELAY_MAX_OBSERVED_SECONDS = 7 * 86_400;

/**
 * Seconds by which `entry` was stamped later than this service received it, when that is at least
 * CLOCK_AHEAD_MIN_MS: its sensor's clock runs ahead (delivery only ever adds time). Else undefined.
 */
export function clockAheadSeconds(entry: Pick<StoredAlert, 'timeMs' | 'receivedAtMs'>): number | undefined {
  const aheadMs = entry.timeMs - entry.receivedAtMs;
  return aheadMs >= CLOCK_AHEAD_MIN_MS ? aheadMs / 1000 : undefined;
}
