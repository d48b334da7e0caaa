import type { AlertsFound } from '../alerts/alert-store.js';
import { presentedBytesAtMost } from '../alerts/serialize-alert.js';
import type { StoredAlert } from '../alerts/stored-alert.js';
import { CSV_HEADER } from './routes/alert-export.js';
import { JSON_LIST_FRAME_BYTES } from './write-alert-list.js';

// What any format writes besides its alerts: the JSON list's opening and closing, or the CSV header.
const FRAME_BYTES = Math.max(JSON_LIST_FRAME_BYTES, Buffer.byteLength(CSV_HEADER));

/** The alerts one answer of `GET /alerts` lists, and whether that cut the list. */
export interface AlertListCut {
  alerts: readonly StoredAlert[];
  truncated: boolean;
}

/**
 * The newest of the alerts found that fit in `maxBytes` (QUERY_MAX_BYTES) as written, at least one:
 * the same list for the JSON answer and both downloads. Each alert counts as its JSON object and a
 * separator: a JSON Lines line is that, and a CSV row is shorter (its cells are the object's
 * strings, written no longer than in JSON, without the key names). The store's read ends with the
 * alert that crossed `maxBytes` of received bytes, to show it was cut: the list stops there too, or
 * is cut after that alert when it is the first. A read the store itself cut short of older alerts
 * (`cut`: a shared store's own bounds) is cut all the same.
 */
export function cutAlertList({ alerts: entries, cut }: AlertsFound, maxBytes: number): AlertListCut {
  let written = FRAME_BYTES;
  let received = 0;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    written += presentedBytesAtMost(entry) + 1;
    received += entry.bytes;
    if (index > 0 && (written > maxBytes || received > maxBytes))
      return { alerts: entries.slice(0, index), truncated: true };
  }
  // One alert past the cap is listed alone; the store read no further, so there may be more.
  return { alerts: entries, truncated: received > maxBytes || cut === true };
}
