import type { ServerResponse } from 'node:http';
import { presentAlertJson } from '../alerts/serialize-alert.js';
import type { StoredAlert } from '../alerts/stored-alert.js';
import { writePaced } from './write-paced.js';

const OPENING = '{"alerts":[';
const closing = (count: number, truncated: boolean) =>
  `],"count":${count}${truncated ? ',"truncated":true' : ''}}`;

/** The most a list writes besides its alerts and the commas between them (at most 1000 alerts). */
export const JSON_LIST_FRAME_BYTES = OPENING.length + closing(1000, true).length;

// The list's texts: its opening, each alert (a comma before all but the first), its closing.
function* alertListTexts(entries: readonly StoredAlert[], truncated: boolean): Generator<string> {
  yield OPENING;
  for (let index = 0; index < entries.length; index++) {
    const piece = presentAlertJson(entries[index]!);
    yield index === 0 ? piece : `,${piece}`;
  }
  yield closing(entries.length, truncated);
}

/**
 * Writes `{"alerts":[...],"count":n}` from the stored texts, with `"truncated":true` when the list
 * was cut (alert-list-budget.ts), a piece at a time (write-paced.ts): waiting while the client does
 * not read, and yielding the event loop every couple of milliseconds.
 */
export async function writeAlertList(
  res: ServerResponse,
  entries: readonly StoredAlert[],
  truncated: boolean,
): Promise<void> {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  // Alerts, often read with a session cookie: never kept by a browser or proxy cache.
  res.setHeader('Cache-Control', 'no-store');
  if (await writePaced(res, alertListTexts(entries, truncated))) res.end();
}
