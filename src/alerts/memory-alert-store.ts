import { counterOf, formatAlertId, parseAlertId } from './alert-ids.js';
import type { AlertQuery, AlertStore, SummaryEntry } from './alert-store.js';
import { holdAlert, viewHeldAlert, type HeldAlert } from './held-alert.js';
import { createIdIndex } from './id-index.js';
import { createInterner } from './interner.js';
import { matchesQuery } from './match-alert.js';
import type { Priority } from './priority.js';
import type { StoredAlert } from './stored-alert.js';
import { createTextRing, type HeldTexts, type TextSlot } from './text-ring.js';
import { startTurnClock } from './turn-clock.js';
import { isoTime } from '../logging/iso-time.js';

export interface MemoryAlertStoreOptions {
  /** Most alerts kept; the oldest go first. */
  maxAlerts: number;
  /**
   * Most bytes of alert text kept (the received JSON), so a burst of large alerts cannot grow memory
   * without bound; an alert given without its text counts its request size.
   */
  maxBytes: number;
}

/** Slot `seq % maxAlerts` of each column holds one field of the alert received `seq`-th. */
interface Columns {
  /**
   * The counter of an id made by this process's alert-ids (its prefix is `ownPrefix`): the id
   * string is made again when read. Counters only grow; a slot with another id repeats the last one.
   */
  counter: number[];
  /** Any other id. */
  ids: Array<string | undefined>;
  /** `receivedAt` when it is not `receivedAtMs` in ISO 8601 (it always is, from the sink). */
  receivedAt: Array<string | undefined>;
  receivedAtMs: number[];
  timeMs: number[];
  bytes: number[];
  source: string[];
  rule: string[];
  priority: Priority[];
  hostname: Array<string | undefined>;
  tags: Array<readonly string[] | undefined>;
  namespace: Array<string | undefined>;
  /** Where the alert's text lies in the ring (offset -1: not in the ring, see `held`). */
  textOffset: number[];
  textLength: number[];
  /** What the alert counts against `maxBytes`: its text's bytes, or its request's without a text. */
  cost: number[];
  /** An alert whose text is not in the ring, held whole. */
  held: Array<HeldAlert | undefined>;
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
  const col: Columns = {
    counter: [],
    ids: [],
    receivedAt: [],
    receivedAtMs: [],
    timeMs: [],
    bytes: [],
    source: [],
    rule: [],
    priority: [],
    hostname: [],
    tags: [],
    namespace: [],
    textOffset: [],
    textLength: [],
    cost: [],
    held: [],
  };
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

  const slotOf = (seq: number) => seq % capacity;

  // Whether an alert's receivedAt is the ISO form of its receivedAtMs (then it is not kept).
  const receivedAtFollows = ({ receivedAt, receivedAtMs }: StoredAlert): boolean =>
    receivedAt === isoTime(receivedAtMs);

  const idAt = (slot: number) => col.ids[slot] ?? formatAlertId(ownPrefix!, col.counter[slot]!);

  function fieldsAt(slot: number): HeldAlert {
    return {
      id: idAt(slot),
      receivedAt: col.receivedAt[slot] ?? isoTime(col.receivedAtMs[slot]!),
      receivedAtMs: col.receivedAtMs[slot]!,
      timeMs: col.timeMs[slot]!,
      source: col.source[slot]!,
      bytes: col.bytes[slot]!,
      rule: col.rule[slot]!,
      priority: col.priority[slot]!,
      hostname: col.hostname[slot],
      tags: col.tags[slot] as string[] | undefined,
      namespace: col.namespace[slot],
    };
  }

  function viewAt(slot: number): StoredAlert {
    const held = col.held[slot];
    if (held) return viewHeldAlert(held);
    const json = ring.read({ offset: col.textOffset[slot]!, length: col.textLength[slot]! });
    return viewHeldAlert({ ...fieldsAt(slot), json });
  }

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
    col.hostname[slot] = undefined;
    col.tags[slot] = undefined;
    col.namespace[slot] = undefined;
  }

  function heldTexts(): HeldTexts {
    let seq = first;
    while (seq < next && col.textOffset[slotOf(seq)]! < 0) seq++;
    return { oldest: seq < next ? col.textOffset[slotOf(seq)] : undefined, bytes: ringBytes };
  }

  /** The receipt number of the held alert with this id. */
  function find(id: string): number | undefined {
    const counter = ownPrefix === undefined ? undefined : counterOf(id, ownPrefix);
    if (counter === undefined) {
      const seq = byId.get(id);
      return seq !== undefined && seq >= first && col.ids[slotOf(seq)] === id ? seq : undefined;
    }
    // The first held alert whose counter is at least the id's, then past any other ids repeating it.
    let low = first;
    let high = next;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (col.counter[slotOf(middle)]! < counter) low = middle + 1;
      else high = middle;
    }
    for (let seq = low; seq < next && col.counter[slotOf(seq)] === counter; seq++)
      if (col.ids[slotOf(seq)] === undefined) return seq;
    return undefined;
  }

  // What a query's filters read of an alert, filled in place for each alert scanned: a scan of the
  // whole store makes no object (and no id or time string) for the alerts that do not match.
  const probe = {
    rule: '',
    priority: 'Debug' as Priority,
    source: '',
    hostname: undefined as string | undefined,
    tags: undefined as string[] | undefined,
    namespace: undefined as string | undefined,
    timeMs: 0,
  };

  /**
   * The newest alerts that match `query`, at most `query.limit`, read a couple of milliseconds at a
   * time: copying 8 MB of texts out of the ring held the loop for 40 ms and more. Alerts added
   * meanwhile are not read; one evicted meanwhile ends the list, as the older ones went before it.
   */
  async function collect(query: AlertQuery): Promise<StoredAlert[]> {
    const found: StoredAlert[] = [];
    const maxBytes = query.maxBytes ?? Number.POSITIVE_INFINITY;
    const turn = startTurnClock();
    let bytes = 0;
    for (let seq = next - 1; found.length < query.limit && bytes <= maxBytes; seq--) {
      if (turn.spent()) await turn.next();
      if (seq < first) break;
      const slot = slotOf(seq);
      probe.rule = col.rule[slot]!;
      probe.priority = col.priority[slot]!;
      probe.source = col.source[slot]!;
      probe.hostname = col.hostname[slot];
      probe.tags = col.tags[slot] as string[] | undefined;
      probe.namespace = col.namespace[slot];
      probe.timeMs = col.timeMs[slot]!;
      if (!matchesQuery(probe, query)) continue;
      found.push(viewAt(slot));
      bytes += col.cost[slot]!;
    }
    return found;
  }

  return {
    add(entry) {
      const length = entry.json === undefined ? undefined : Buffer.byteLength(entry.json);
      const cost = length ?? entry.bytes;
      while (next - first >= capacity || (bytes + cost > options.maxBytes && next > first)) evictOldest();
      // Then room in the ring, by letting go of the oldest texts. A text longer than the whole ring
      // (a byte budget below one alert) is held whole instead.
      let text: TextSlot | undefined;
      if (length !== undefined && length <= options.maxBytes) {
        while ((text = ring.place(length, heldTexts())) === undefined && next > first) evictOldest();
      }
      if (text) {
        ring.write(entry.json!, text);
        ringBytes += text.length;
      }
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
      const seq = find(id);
      return seq === undefined ? undefined : viewAt(slotOf(seq));
    },
    query: collect,
    async after(id, limit, maxBytes = Number.POSITIVE_INFINITY) {
      const seq = find(id);
      if (seq === undefined) return undefined;
      // The newest of them, oldest first (a replay that cannot send all sends the latest), read
      // newest first and paced like `collect`.
      const newer: StoredAlert[] = [];
      const turn = startTurnClock();
      let bytes = 0;
      let gap = false;
      for (let i = next - 1; i > seq && newer.length < limit && bytes <= maxBytes; i--) {
        if (turn.spent()) await turn.next();
        // Evicted while the read waited for its turn: the ones from here down to the client's are gone.
        if (i < first) {
          gap = true;
          break;
        }
        newer.push(viewAt(slotOf(i)));
        bytes += col.bytes[slotOf(i)]!;
      }
      // No position: the sink publishes each alert as it is stored, so a live one is newer than these.
      return gap ? { alerts: newer.reverse(), gap } : { alerts: newer.reverse() };
    },
    async receivedSince(sinceMs) {
      const found: SummaryEntry[] = [];
      for (let seq = next - 1; seq >= first; seq--) {
        const slot = slotOf(seq);
        const receivedAtMs = col.receivedAtMs[slot]!;
        if (receivedAtMs < sinceMs) break;
        found.push({ receivedAtMs, priority: col.priority[slot]!, rule: col.rule[slot]! });
      }
      return found;
    },
    async count() {
      return next - first;
    },
    byteFill(sinceMs) {
      // Read like receivedSince: newest first, the window ending at the first older alert.
      let windowBytes = 0;
      let largest = 0;
      let inWindow = true;
      for (let seq = next - 1; seq >= first; seq--) {
        const slot = slotOf(seq);
        inWindow &&= col.receivedAtMs[slot]! >= sinceMs;
        if (inWindow) windowBytes += col.cost[slot]!;
        largest = Math.max(largest, col.cost[slot]!);
      }
      // The ring evicts before the byte budget: while it has not grown to it, and when a text does not
      // fit at its end (up to one alert's bytes left unused there), so both are taken off.
      const budget = Math.min(options.maxBytes, ring.allocated());
      return { free: Math.max(0, budget - windowBytes - largest), largest };
    },
    flush: () => Promise.resolve(),
    written: () => undefined,
    available: () => true,
  };
}
