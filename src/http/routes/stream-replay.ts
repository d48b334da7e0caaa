import type { AlertStore, AlertsAfter } from '../../alerts/alert-store.js';
import type { StorePosition } from '../../alerts/store-position.js';
import type { StoredAlert } from '../../alerts/stored-alert.js';
import { startTurnClock } from '../../alerts/turn-clock.js';
import type { ReadBudget } from '../read-budget.js';
import { replayTruncated } from './stream-truncated.js';

/** Most alerts replayed to a reconnecting client. */
export const MAX_REPLAY = 1000;

const BYTES_CUT = replayTruncated('QUERY_MAX_BYTES');
const COUNT_CUT = replayTruncated(`more than ${MAX_REPLAY} alerts were missed`);
// Evicted or expired, or another process's (a restart of the in-memory store): how many came after it is unknown.
const ID_GONE = replayTruncated('Last-Event-ID is no longer stored');
// Held when the read began, evicted or expired before it reached them: how many is unknown.
const GAP = replayTruncated('some alerts after Last-Event-ID are no longer stored');
// Lost in a shared store's failover and written again: the new master's alerts before it may be missed.
const MOVED = replayTruncated('Last-Event-ID was written again after a failover');
// A shared store's read stopped at its own bound (STORE_MAX_BYTES, or 2 x STORE_MAX_ALERTS entries
// read) before reaching Last-Event-ID: how many it left out is unknown.
const STORE_CUT = replayTruncated("the shared store's read stopped at its bound before Last-Event-ID");

/** What a reconnecting client missed: the texts to send, in order, and where the store's read ended. */
export interface Replay {
  texts: string[];
  /**
   * A shared store's reader runs behind its reads (far behind once its link dropped): an alert it
   * publishes up to here was replayed, cut from the replay, or sent before the client's Last-Event-ID.
   */
  through?: StorePosition;
}

export interface ReplayRequest {
  store: AlertStore;
  budget: ReadBudget;
  /** The client's Last-Event-ID. */
  lastId: string;
  /** The client's address: its share of the readers' budget. */
  address: string;
  /** Most bytes read and replayed: QUERY_MAX_BYTES, at most half the client's buffer bound. */
  maxBytes: number;
  /** The client's event for an alert, or undefined when it is not the client's. */
  eventFor: (entry: StoredAlert) => string | undefined;
  /** True once the client has gone: the replay stops at its next turn. */
  gone: () => boolean;
}

const bytesOf = (entries: readonly StoredAlert[]) => entries.reduce((sum, entry) => sum + entry.bytes, 0);

// The newest of `events` (oldest first) that fit `maxBytes`, oldest first, after a marker when
// older ones were left out (`cut`: the store's read already left some out).
function fitReplay(events: readonly string[], maxBytes: number, cut: boolean): string[] {
  const texts: string[] = [];
  let bytes = 0;
  let index = events.length - 1;
  for (; index >= 0 && bytes + events[index]!.length <= maxBytes; index--) {
    bytes += events[index]!.length;
    texts.push(events[index]!);
  }
  if (cut || index >= 0) texts.push(BYTES_CUT);
  return texts.reverse();
}

// The one marker a replay starts with, if any: the count cut already says that more were missed
// than are sent.
function leadingMarker(read: AlertsAfter, countCut: boolean): string | undefined {
  if (countCut) return COUNT_CUT;
  if (read.moved) return MOVED;
  if (read.gap) return GAP;
  return read.cut ? STORE_CUT : undefined;
}

/**
 * Reads what a client missed since `lastId` (at most MAX_REPLAY alerts and `maxBytes` of them,
 * newest kept), holding `maxBytes` of the readers' budget meanwhile, and makes its events a couple
 * of milliseconds at a time. `no_room` when readers hold the budget; undefined once the client has
 * gone. An id no longer held replays nothing, and says so; alerts after it evicted or expired
 * before the read reached them are said to be missing too, and so are the new master's alerts
 * before an id a shared store's failover lost and its replica wrote again, and those a shared
 * store's read left out where it stopped at its own bound.
 */
export async function readReplay(request: ReplayRequest): Promise<Replay | 'no_room' | undefined> {
  const { maxBytes } = request;
  const release = request.budget.reserve(maxBytes, request.address);
  if (!release) return 'no_room';
  try {
    const read = await request.store.after(request.lastId, MAX_REPLAY + 1, maxBytes);
    if (read === undefined) return { texts: [ID_GONE] };
    const { alerts } = read;
    // The oldest read is one past what is replayed when there were more than MAX_REPLAY, or when it
    // took the read past `maxBytes`.
    const countCut = alerts.length > MAX_REPLAY;
    const bytesCut = !countCut && bytesOf(alerts) > maxBytes;
    const events: string[] = [];
    const turn = startTurnClock();
    for (const entry of countCut || bytesCut ? alerts.slice(1) : alerts) {
      if (turn.spent()) await turn.next();
      if (request.gone()) return undefined;
      const text = request.eventFor(entry);
      if (text !== undefined) events.push(text);
    }
    const texts = fitReplay(events, maxBytes, bytesCut);
    const marker = leadingMarker(read, countCut);
    return { texts: marker ? [marker, ...texts] : texts, through: read.through };
  } finally {
    release();
  }
}
