import { isUtf8 } from 'node:buffer';
import type { Logger } from 'pino';
import { streamOf, writeRawJsonLine, type LineFields } from '../logging/create-logger.js';
import { isoTime } from '../logging/iso-time.js';
import { createLineGroup, type LineGroup } from '../logging/line-group.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AlertFeed } from './alert-feed.js';
import { createAlertIds, type AlertIds } from './alert-ids.js';
import type { AlertStore } from './alert-store.js';
import type { FalcoAlert } from './falco-alert-schema.js';
import { joinLines } from './join-lines.js';
import { parseFalcoTime } from './falco-time.js';
import { clockAheadSeconds, fieldsFromAlert, type StoredAlert } from './stored-alert.js';

export interface AlertSinkDeps {
  store: AlertStore;
  /** Live listeners; absent when the store's own reader publishes (the shared Redis store). */
  feed?: AlertFeed;
  metrics: Metrics;
  /** Where the one line per accepted alert goes: the durable record. */
  logger: Logger;
  /** Holds the alert lines of one ingest turn for one write (group commit); default: the logger's stream, never held. */
  lines?: LineGroup;
  now?: () => number;
  /** Where accepted alerts' ids come from (alert-ids.ts). */
  ids?: AlertIds;
}

export interface AcceptMeta {
  /** Request body size in bytes. */
  bytes: number;
  reqId?: string;
  /** The verified TLS client certificate's subject CN (mTLS ingest). */
  client?: { cn: string };
  /**
   * The alert's JSON text as received, which the strict parser accepted. When it is one line, the
   * log line copies it rather than serialising the alert again.
   */
  json?: string;
  /**
   * The same text as the bytes it was received as, when they are exactly its UTF-8 and on one line
   * (`verbatimJson`): the log line and the store copy them instead of encoding the text again.
   */
  jsonBytes?: Buffer;
}

/** The received JSON text, trimmed and on one line, when it can be copied into a log line. */
function copyableJson(json: string | undefined): string | undefined {
  if (json === undefined) return undefined;
  // trim() also drops a byte order mark.
  const text = json.trim();
  if (!text.startsWith('{')) return undefined;
  // Inside JSON strings CR and LF are always escaped, so a raw one is whitespace between tokens
  // (a pretty-printed body): a space says the same. Serialising the alert again instead would go
  // through pino's fallback for bigints, which cuts objects at 100 keys.
  return joinLines(text);
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * `body` when it is the received text's exact UTF-8 and already a copyable log value: one object
 * from its first byte to its last (nothing to trim), no CR or LF, valid UTF-8 (invalid bytes decode
 * to U+FFFD, whose bytes differ). Falco's bodies are all of that; anything else goes through
 * `copyableJson`. Copying the bytes costs 0.14 us for 1 KB and 0.9 us for 25 KB, encoding the text
 * again 0.86 and 10.2 us, and the log line and the store each did that.
 */
export function verbatimJson(body: Buffer): Buffer | undefined {
  const last = body.length - 1;
  if (last < 1 || body[0] !== OPEN_BRACE || body[last] !== CLOSE_BRACE) return undefined;
  if (body.includes(0x0a) || body.includes(0x0d) || !isUtf8(body)) return undefined;
  return body;
}

/** Takes a validated alert: stores it, counts it, logs it, and publishes it to live listeners. */
export interface AlertSink {
  accept(alert: FalcoAlert, meta: AcceptMeta): StoredAlert;
  /**
   * Where the alert lines go. An ingest turn opens it and commits it before answering the turn's
   * alerts: one write for many lines, and still no 2xx before its alert's line is written.
   */
  lines?: LineGroup;
  /**
   * After the lines, an ingest turn waits for this before answering its alerts: a shared store's
   * write (AlertStore.written), so a 2xx means every replica can read the alert.
   */
  stored?: () => Promise<void> | undefined;
  /**
   * Asked before `accept`: false when the store cannot take `alert`, of `bytes`, now
   * (AlertStore.admits); a sink that would not store it (a re-send, dedup-sink.ts) admits it.
   */
  admits?: (bytes: number, alert: FalcoAlert) => boolean;
}

/**
 * The logger the alert lines go through: `logger` itself, or, when its level is above `info`, a
 * child at `info`. LOG_LEVEL quiets the service's own lines; an alert's line is the durable record
 * of the alert, and `LOG_LEVEL=warn` used to drop every one of them while answering 202.
 */
export function alertLineLogger(logger: Logger): Logger {
  return logger.isLevelEnabled('info') ? logger : logger.child({}, { level: 'info' });
}

export function createAlertSink(deps: AlertSinkDeps): AlertSink {
  const now = deps.now ?? Date.now;
  const ids = deps.ids ?? createAlertIds();
  const logger = alertLineLogger(deps.logger);
  const lines = deps.lines ?? createLineGroup(streamOf(logger));
  return {
    lines,
    stored: () => deps.store.written(),
    admits: (bytes) => deps.store.admits?.(bytes) ?? true,
    accept(alert, meta) {
      const receivedAtMs = now();
      // A pretty-printed body is joined onto one line once, for its log line and the store alike:
      // stored as received, every read of it joined its lines again (serialize-alert.ts), one match
      // a line break: a list of four alerts of 890,000 of them held the loop 0.5-1 s, each time.
      const oneLine = meta.jsonBytes === undefined ? copyableJson(meta.json) : undefined;
      const entry: StoredAlert = {
        id: ids.next(),
        receivedAt: isoTime(receivedAtMs),
        receivedAtMs,
        // The schema has checked the time already.
        timeMs: parseFalcoTime(alert.time) ?? receivedAtMs,
        bytes: meta.bytes,
        ...fieldsFromAlert(alert),
        json: oneLine ?? meta.json,
      };
      deps.store.add(entry, meta.jsonBytes);
      deps.metrics.recordAlert(entry);
      const fields: LineFields = {
        event: 'falco_alert',
        alertId: entry.id,
        receivedAt: entry.receivedAt,
        reqId: meta.reqId,
        client: meta.client,
      };
      // Only on the line of an alert stamped later than received: its sensor's clock runs ahead.
      const ahead = clockAheadSeconds(entry);
      if (ahead !== undefined) fields['clockAheadSeconds'] = ahead;
      const json = meta.jsonBytes ?? oneLine;
      if (json !== undefined) writeRawJsonLine(logger, fields, 'alert', json, 'falco alert', lines);
      else logger.info({ ...fields, alert }, 'falco alert');
      deps.feed?.publish(entry);
      return entry;
    },
  };
}
