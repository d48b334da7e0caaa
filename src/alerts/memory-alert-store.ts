import type { AlertQuery, AlertStore } from './alert-store.js';
import type { FalcoAlert } from './falco-alert-schema.js';
import { matchesQuery } from './match-alert.js';
import { parseJson } from './parse-json.js';
import type { StoredAlert } from './stored-alert.js';

/** What the store holds for one alert: its received text in place of the parsed alert, when given. */
type Held = Omit<StoredAlert, 'alert'> & { alert?: FalcoAlert };

/**
 * One string instead of the parsed alert's tree of objects: a fraction of the memory, and nothing
 * for the garbage collector to trace or copy object by object while the alert waits to be evicted.
 */
function hold(entry: StoredAlert): Held {
  if (entry.json === undefined) return entry;
  const { alert: _parsed, ...held } = entry;
  return held;
}

/** The stored alert as readers see it: the alert is parsed again, once, when first read. */
function view(held: Held): StoredAlert {
  if (held.alert !== undefined) return held as StoredAlert;
  const json = held.json ?? '';
  let alert: FalcoAlert | undefined;
  return Object.defineProperty({ ...held }, 'alert', {
    enumerable: true,
    get() {
      if (alert) return alert;
      const parsed = parseJson(json);
      // The same text passed the strict parser and the schema when it was received.
      if (!parsed.ok) throw new Error(`stored alert ${held.id} no longer parses: ${parsed.message}`);
      return (alert = parsed.value as FalcoAlert);
    },
  }) as StoredAlert;
}

export interface MemoryAlertStoreOptions {
  /** Most alerts kept; the oldest go first. */
  maxAlerts: number;
  /** Most request bytes kept, so a burst of large alerts cannot grow memory without bound. */
  maxBytes: number;
}

/** A bounded in-memory store: a FIFO by receipt, evicting by count and by bytes. */
export function createMemoryAlertStore(options: MemoryAlertStoreOptions): AlertStore {
  const byId = new Map<string, Held>();
  // Receipt order, oldest at `head`. Not the Map's own order: taking the first entry of a Map that
  // keeps losing its first entries walks over the deleted slots, which made every add slower.
  let order: Held[] = [];
  let head = 0;
  let bytes = 0;

  function evictOldest(): void {
    const oldest = order[head];
    if (oldest === undefined) return;
    order[head++] = undefined as unknown as Held;
    byId.delete(oldest.id);
    bytes -= oldest.bytes;
    // Drop the evicted prefix now and then, so the array stays about as long as the store.
    if (head > 1024 && head * 2 > order.length) {
      order = order.slice(head);
      head = 0;
    }
  }

  return {
    add(entry) {
      const held = hold(entry);
      byId.set(entry.id, held);
      order.push(held);
      bytes += entry.bytes;
      while (byId.size > options.maxAlerts || (bytes > options.maxBytes && byId.size > 1)) evictOldest();
    },
    get(id) {
      const held = byId.get(id);
      return held && view(held);
    },
    query(query: AlertQuery) {
      const found: StoredAlert[] = [];
      for (let i = order.length - 1; i >= head && found.length < query.limit; i--) {
        const entry = order[i]!;
        if (matchesQuery(entry, query)) found.push(view(entry));
      }
      return found;
    },
    count() {
      return byId.size;
    },
  };
}
