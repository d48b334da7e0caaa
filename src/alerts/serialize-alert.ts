import { configure } from 'safe-stable-stringify';
import { joinLines } from './join-lines.js';
import type { StoredAlert } from './stored-alert.js';

// bigint values (ns timestamps above 2^53) are written as plain JSON numbers with every digit.
const stringify = configure({ bigint: true, deterministic: false, circularValue: Error });

/** JSON text of any value that may hold bigints, or undefined for undefined. */
export function toJson(value: unknown): string {
  return stringify(value) ?? 'null';
}

/** The public JSON shape of a stored alert: id, receipt time, resolved source and the alert itself. */
export function presentAlert(entry: StoredAlert): {
  id: string;
  receivedAt: string;
  source: string;
  alert: unknown;
} {
  return { id: entry.id, receivedAt: entry.receivedAt, source: entry.source, alert: entry.alert };
}

// The text of `presentAlert(entry)` before the alert's: `{"id":…,"receivedAt":…,"source":…,"alert":`.
const presentedHead = (entry: StoredAlert) =>
  `{"id":${JSON.stringify(entry.id)},"receivedAt":${JSON.stringify(entry.receivedAt)},"source":${JSON.stringify(entry.source)},"alert":`;

/**
 * The JSON text of `presentAlert(entry)`, built around the alert's received text when the store
 * kept it: no parse and no re-serialisation per read, and every digit of a 19-digit integer kept.
 * One line (usable as an SSE `data:` field).
 */
export function presentAlertJson(entry: StoredAlert): string {
  if (entry.json === undefined) return toJson(presentAlert(entry));
  // trim() also drops a byte order mark.
  const received = entry.json.trim();
  // On one line, as an SSE `data:` field needs (a store written before ingest joined them).
  return `${presentedHead(entry)}${joinLines(received)}}`;
}

/**
 * At least the UTF-8 bytes of `presentAlertJson(entry)`, without building it when the store kept
 * the text (trimming it and joining its lines only shorten it): what a list counts an alert as.
 */
export function presentedBytesAtMost(entry: StoredAlert): number {
  if (entry.json === undefined) return Buffer.byteLength(presentAlertJson(entry));
  return Buffer.byteLength(presentedHead(entry)) + Buffer.byteLength(entry.json) + 1;
}
