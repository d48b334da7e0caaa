import type { StoreColumns } from './alert-columns.js';
import type { AlertsAfter } from './alert-store.js';
import { findColumnAlert } from './find-column-alert.js';
import type { StoredAlert } from './stored-alert.js';
import { startTurnClock } from './turn-clock.js';
import { viewColumnAlert } from './view-column-alert.js';

/** A memory store's `after` (alert-store.ts): the alerts received after the one with this id. */
export async function readColumnsAfter(
  store: StoreColumns,
  id: string,
  limit: number,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<AlertsAfter | undefined> {
  const { col, slotOf } = store;
  const seq = findColumnAlert(store, id);
  if (seq === undefined) return undefined;
  // The newest of them, oldest first (a replay that cannot send all sends the latest), read
  // newest first and paced like a query (query-columns.ts).
  const newer: StoredAlert[] = [];
  const turn = startTurnClock();
  let bytes = 0;
  let gap = false;
  for (let i = store.next() - 1; i > seq && newer.length < limit && bytes <= maxBytes; i--) {
    if (turn.spent()) await turn.next();
    // Evicted while the read waited for its turn: the ones from here down to the client's are gone.
    if (i < store.first()) {
      gap = true;
      break;
    }
    newer.push(viewColumnAlert(store, slotOf(i)));
    bytes += col.bytes[slotOf(i)]!;
  }
  // No position: the sink publishes each alert as it is stored, so a live one is newer than these.
  return gap ? { alerts: newer.reverse(), gap } : { alerts: newer.reverse() };
}
