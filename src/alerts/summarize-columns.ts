import type { StoreColumns } from './alert-columns.js';
import type { ByteFill, SummaryCount } from './alert-store.js';
import { startTurnClock } from './turn-clock.js';

/**
 * A memory store's `receivedSince` (alert-store.ts): what the dashboard's summary counts. Paced like
 * a list (turn-clock.ts): a window of 300,000 alerts held the loop 0.9 s in one piece. An alert
 * evicted while the read waits for its next turn ends it, as the newer ones it read are still held.
 */
export async function readReceivedSince(
  store: StoreColumns,
  sinceMs: number,
  count: SummaryCount,
): Promise<void> {
  const { col, slotOf } = store;
  const turn = startTurnClock();
  for (let seq = store.next() - 1; ; seq--) {
    if (turn.spent()) await turn.next();
    if (seq < store.first()) return;
    const slot = slotOf(seq);
    const receivedAtMs = col.receivedAtMs[slot]!;
    if (receivedAtMs < sinceMs) return;
    count(receivedAtMs, col.priority[slot]!, col.ruleKey[slot] ?? col.rule[slot]!);
  }
}

/** A memory store's `byteFill` (alert-store.ts), against its byte budget `maxBytes`. */
export function measureByteFill(store: StoreColumns, sinceMs: number, maxBytes: number): ByteFill {
  const { col, slotOf } = store;
  const first = store.first();
  // Read like receivedSince: newest first, the window ending at the first older alert.
  let windowBytes = 0;
  let largest = 0;
  let inWindow = true;
  for (let seq = store.next() - 1; seq >= first; seq--) {
    const slot = slotOf(seq);
    inWindow &&= col.receivedAtMs[slot]! >= sinceMs;
    if (inWindow) windowBytes += col.cost[slot]!;
    largest = Math.max(largest, col.cost[slot]!);
  }
  // The ring evicts before the byte budget: while it has not grown to it, and when a text does not
  // fit at its end (up to one alert's bytes left unused there), so both are taken off.
  const budget = Math.min(maxBytes, store.ring.allocated());
  return { free: Math.max(0, budget - windowBytes - largest), largest };
}
