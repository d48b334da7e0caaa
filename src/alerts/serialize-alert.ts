import { configure } from 'safe-stable-stringify';
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
