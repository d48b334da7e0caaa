import type { AlertQuery, AlertStore } from './alert-store.js';
import { matchesQuery } from './match-alert.js';
import type { StoredAlert } from './stored-alert.js';

export interface MemoryAlertStoreOptions {
  /** Most alerts kept; the oldest go first. */
  maxAlerts: number;
  /** Most request bytes kept, so a burst of large alerts cannot grow memory without bound. */
  maxBytes: number;
}

/** A bounded in-memory store: a FIFO by receipt, evicting by count and by bytes. */
export function createMemoryAlertStore(options: MemoryAlertStoreOptions): AlertStore {
  const byId = new Map<string, StoredAlert>();
  // Receipt order, oldest at `head`. Not the Map's own order: taking the first entry of a Map that
  // keeps losing its first entries walks over the deleted slots, which made every add slower.
  let order: StoredAlert[] = [];
  let head = 0;
  let bytes = 0;

  function evictOldest(): void {
    const oldest = order[head];
    if (oldest === undefined) return;
    order[head++] = undefined as unknown as StoredAlert;
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
      byId.set(entry.id, entry);
      order.push(entry);
      bytes += entry.bytes;
      while (byId.size > options.maxAlerts || (bytes > options.maxBytes && byId.size > 1)) evictOldest();
    },
    get(id) {
      return byId.get(id);
    },
    query(query: AlertQuery) {
      const found: StoredAlert[] = [];
      for (let i = order.length - 1; i >= head && found.length < query.limit; i--) {
        const entry = order[i]!;
        if (matchesQuery(entry, query)) found.push(entry);
      }
      return found;
    },
    count() {
      return byId.size;
    },
  };
}
