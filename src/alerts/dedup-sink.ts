import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { AlertSink } from './alert-sink.js';
import type { FalcoAlert } from './falco-alert-schema.js';
import { toJson } from './serialize-alert.js';
import { createDedupWindow } from './dedup-window.js';
import { fieldsFromAlert } from './stored-alert.js';

export interface DedupOptions {
  /** How long an alert's key is remembered; a re-send inside it is dropped. */
  windowMs: number;
  /** Most keys remembered; the oldest go first, so memory stays bounded under any rate. */
  maxEntries: number;
  registry: Registry;
  logger: Logger;
  now?: () => number;
}

/**
 * The identity of an alert for deduplication: Falco 0.41+ re-sends the same body after a timeout,
 * so the whole alert is its identity. Any field that differs makes another alert: without `output`
 * (json_include_output_property: false) two events of one rule in the same millisecond differ only
 * in `message` or `output_fields`.
 */
export function buildDedupKey(alert: FalcoAlert): string {
  return createHash('sha256').update(toJson(alert)).digest('base64');
}

/**
 * Wraps a sink so exact re-sends within the window are dropped: not stored, counted, logged as an
 * alert or published, but counted in `falco_alerts_duplicate_total`. The re-send gets the first
 * copy's id, so the caller still answers 2xx (Falco ignores the status anyway).
 */
export function createDedupSink(inner: AlertSink, options: DedupOptions): AlertSink {
  const now = options.now ?? Date.now;
  const seen = createDedupWindow<{ id: string; receivedAt: string; receivedAtMs: number }>({
    windowMs: options.windowMs,
    maxEntries: options.maxEntries,
  });
  const duplicates = new Counter({
    name: 'falco_alerts_duplicate_total',
    help: 'Alerts dropped as exact re-sends (the same alert, every field) inside DEDUP_WINDOW_MS.',
    registers: [options.registry],
  });

  return {
    lines: inner.lines,
    stored: inner.stored,
    // A re-send inside the window is not stored (below): with the store's queue full it is still
    // answered as a re-send, not refused 503 and counted as shed while its first copy is queued.
    admits: (bytes, alert) =>
      inner.admits?.(bytes, alert) !== false || seen.get(buildDedupKey(alert), now()) !== undefined,
    accept(alert, meta) {
      const key = buildDedupKey(alert);
      const first = seen.get(key, now());
      if (first) {
        duplicates.inc();
        options.logger.info(
          { event: 'falco_alert_duplicate', alertId: first.id, reqId: meta.reqId, rule: alert.rule },
          'duplicate falco alert dropped',
        );
        const entry = {
          ...first,
          timeMs: first.receivedAtMs,
          bytes: meta.bytes,
          ...fieldsFromAlert(alert),
        };
        return entry;
      }
      const entry = inner.accept(alert, meta);
      seen.add(key, { id: entry.id, receivedAt: entry.receivedAt, receivedAtMs: entry.receivedAtMs }, now());
      return entry;
    },
  };
}
