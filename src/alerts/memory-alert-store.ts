import { createColumns, type StoreColumns } from './alert-columns.js';
import { counterOf, parseAlertId } from './alert-ids.js';
import type { AlertStore } from './alert-store.js';
import { findColumnAlert } from './find-column-alert.js';
import { holdAlert } from './held-alert.js';
import { createIdIndex } from './id-index.js';
import { createInterner } from './interner.js';
import { createColumnQuery } from './query-columns.js';
import { readColumnsAfter } from './read-columns-after.js';
import type { StoredAlert } from './stored-alert.js';
import { measureByteFill, readReceivedSince } from './summarize-columns.js';
import { createTextRing, type HeldTexts, type TextSlot } from './text-ring.js';
import { viewColumnAlert } from './view-column-alert.js';
import { isoTime } from '../logging/iso-time.js';
import { capText, FIELD_CAP } from '../store/capped-text.js';

export interface MemoryAlertStoreOptions {
  /** Most alerts kept; the oldest go first. */
  maxAlerts: number;
  /**
   * Most bytes of alert text kept (the received JSON), so a burst of large alerts cannot grow memory
   * without bound; an alert given without its text counts its request size.
   */
  maxBytes: number;
}

/**
 * A bounded in-memory store: a FIFO by receipt, evicting by count and by bytes. It holds no object
 * per alert: fields sit in columns (arrays indexed by receipt number modulo `maxAlerts`), names that
 * repeat (rule, hostname, source, namespace, tags) are shared, and the received texts live in one
 * ring buffer (text-ring.ts). An object per alert lives as long as the store keeps it (10,000 alerts
 * at 16,000 alerts/s: 0.6 s), so each was copied, promoted and later marked by a full collection:
 * with them the service ran 9 to 10 full collections in 5 s at an even 16,000 alerts/s, each
 * stalling the event loop for 20 ms or more on one core (p99 25 ms); the same service keeping one
 * alert ran 2 (p99 5 ms).
 */
export function createMemoryAlertStore(options: MemoryAlertStoreOptions): AlertStore {
  const capacity = options.maxAlerts;
  const col = createColumns();
  // Receipt numbers of the oldest held alert and of the next one.
  let first = 0;
  let next = 0;
  let bytes = 0;
  const ring = createTextRing(options.maxBytes);
  let ringBytes = 0;
  // Alerts with another id: every one held was indexed within the last maxAlerts additions.
  const byId = createIdIndex<number>(capacity);
  let ownPrefix: string | undefined;
  let lastCounter = -1;
  const shared = createInterner();
  // Receipt number of the newest alert added with a rule past FIELD_CAP (-1: none yet).
  let newestLong = -1;

  const slotOf = (seq: number) => seq % capacity;

  // Whether an alert's receivedAt is the ISO form of its receivedAtMs (then it is not kept).
  const receivedAtFollows = ({ receivedAt, receivedAtMs }: StoredAlert): boolean =>
    receivedAt === isoTime(receivedAtMs);

  function evictOldest(): void {
    const slot = slotOf(first++);
    bytes -= col.cost[slot]!;
    if (col.textOffset[slot]! >= 0) ringBytes -= col.textLength[slot]!;
    col.held[slot] = undefined;
    // Its texts go with it, not when the slot is next written (maxAlerts alerts later): maxBytes
    // counts only the alert's JSON, and a 1 MB hostname or rule left behind in each slot held
    // 1 MB per evicted alert until the heap ran out.
    col.ids[slot] = undefined;
    col.receivedAt[slot] = undefined;
    col.source[slot] = '';
    col.rule[slot] = '';
    col.ruleKey[slot] = undefined;
    col.hostname[slot] = undefined;
    col.tags[slot] = undefined;
    col.namespace[slot] = undefined;
  }

  // The capped form of a rule past FIELD_CAP (the summary counts by it), taken once a run of alerts
  // of one rule: that of the newest held alert with a long rule, when it is the same rule. Taken from
  // what the store holds, so it goes with the alerts: a capper keeping the last long rule it saw held
  // it (up to the body limit) after every alert of it was evicted.
  function ruleKeyOf(rule: string): string | undefined {
    if (rule.length <= FIELD_CAP) return undefined;
    if (newestLong >= first && col.rule[slotOf(newestLong)] === rule) return col.ruleKey[slotOf(newestLong)];
    return capText(rule);
  }

  function heldTexts(): HeldTexts {
    let seq = first;
    while (seq < next && col.textOffset[slotOf(seq)]! < 0) seq++;
    return { oldest: seq < next ? col.textOffset[slotOf(seq)] : undefined, bytes: ringBytes };
  }

  // What the reads see of the store (alert-columns.ts).
  const store: StoreColumns = {
    col,
    ring,
    byId,
    slotOf,
    first: () => first,
    next: () => next,
    ownPrefix: () => ownPrefix,
  };

  return {
    add(entry, utf8) {
      const length = entry.json === undefined ? undefined : Buffer.byteLength(utf8 ?? entry.json);
      const cost = length ?? entry.bytes;
      while (next - first >= capacity || (bytes + cost > options.maxBytes && next > first)) evictOldest();
      // Then room in the ring, by letting go of the oldest texts. A text longer than the whole ring
      // (a byte budget below one alert) is held whole instead.
      let text: TextSlot | undefined;
      if (length !== undefined && length <= options.maxBytes) {
        while ((text = ring.place(length, heldTexts())) === undefined && next > first) evictOldest();
      }
      if (text) {
        ring.write(utf8 ?? entry.json!, text);
        ringBytes += text.length;
      }
      const ruleKey = ruleKeyOf(entry.rule);
      const seq = next++;
      const slot = slotOf(seq);
      ownPrefix ??= parseAlertId(entry.id)?.prefix;
      const counter = ownPrefix === undefined ? undefined : counterOf(entry.id, ownPrefix);
      if (counter !== undefined && counter > lastCounter) {
        lastCounter = counter;
        col.ids[slot] = undefined;
      } else {
        col.ids[slot] = entry.id;
        byId.set(entry.id, seq);
      }
      col.counter[slot] = lastCounter;
      col.receivedAt[slot] = receivedAtFollows(entry) ? undefined : entry.receivedAt;
      col.receivedAtMs[slot] = entry.receivedAtMs;
      col.timeMs[slot] = entry.timeMs;
      col.bytes[slot] = entry.bytes;
      col.source[slot] = shared.text(entry.source);
      col.rule[slot] = shared.text(entry.rule);
      col.ruleKey[slot] = ruleKey;
      if (ruleKey !== undefined) newestLong = seq;
      col.priority[slot] = entry.priority;
      col.hostname[slot] = entry.hostname === undefined ? undefined : shared.text(entry.hostname);
      col.tags[slot] = entry.tags === undefined ? undefined : shared.list(entry.tags);
      col.namespace[slot] = entry.namespace === undefined ? undefined : shared.text(entry.namespace);
      col.textOffset[slot] = text ? text.offset : -1;
      col.textLength[slot] = text ? text.length : 0;
      col.cost[slot] = cost;
      col.held[slot] = text ? undefined : holdAlert(entry);
      bytes += cost;
    },
    async get(id) {
      const seq = findColumnAlert(store, id);
      return seq === undefined ? undefined : viewColumnAlert(store, slotOf(seq));
    },
    bytesOf(id) {
      const seq = findColumnAlert(store, id);
      return seq === undefined ? undefined : col.bytes[slotOf(seq)];
    },
    query: createColumnQuery(store),
    after: (id, limit, maxBytes) => readColumnsAfter(store, id, limit, maxBytes),
    receivedSince: (sinceMs, count) => readReceivedSince(store, sinceMs, count),
    async count() {
      return next - first;
    },
    byteFill: (sinceMs) => measureByteFill(store, sinceMs, options.maxBytes),
    flush: () => Promise.resolve(),
    written: () => undefined,
    available: () => true,
  };
}
