import type { ServerResponse } from 'node:http';
import { presentAlertJson } from '../alerts/serialize-alert.js';
import type { StoredAlert } from '../alerts/stored-alert.js';
import { writePaced } from './write-paced.js';

// The list's texts: at most `maxBytes` (the first alert always goes out; past the cap the list
// ends with `"truncated":true`).
function* alertListTexts(entries: readonly StoredAlert[], maxBytes: number): Generator<string> {
  const opening = '{"alerts":[';
  yield opening;
  let written = opening.length;
  let count = 0;
  let truncated = false;
  for (const entry of entries) {
    const piece = presentAlertJson(entry);
    const size = Buffer.byteLength(piece) + 1;
    if (count > 0 && written + size > maxBytes) {
      truncated = true;
      break;
    }
    yield count === 0 ? piece : `,${piece}`;
    written += size;
    count += 1;
  }
  yield `],"count":${count}${truncated ? ',"truncated":true' : ''}}`;
}

/**
 * Writes `{"alerts":[...],"count":n}` from the stored texts, a piece at a time (write-paced.ts):
 * waiting while the client does not read, and yielding the event loop every couple of milliseconds.
 */
export async function writeAlertList(
  res: ServerResponse,
  entries: readonly StoredAlert[],
  maxBytes: number,
): Promise<void> {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  // Alerts, often read with a session cookie: never kept by a browser or proxy cache.
  res.setHeader('Cache-Control', 'no-store');
  if (await writePaced(res, alertListTexts(entries, maxBytes))) res.end();
}
