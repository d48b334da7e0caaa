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
  // Insertion-ordered: the first key is the oldest alert.
  const byId = new Map<string, StoredAlert>();
  let bytes = 0;

  function evictOldest(): void {
    const oldest = byId.values().next();
    if (oldest.done) return;
    byId.delete(oldest.value.id);
    bytes -= oldest.value.bytes;
  }

  return {
    add(entry) {
      byId.set(entry.id, entry);
      bytes += entry.bytes;
      while (byId.size > options.maxAlerts || (bytes > options.maxBytes && byId.size > 1)) evictOldest();
    },
    get(id) {
      return byId.get(id);
    },
    query(query: AlertQuery) {
      const found: StoredAlert[] = [];
      const newestFirst = [...byId.values()].reverse();
      for (const entry of newestFirst) {
        if (found.length >= query.limit) break;
        if (matchesQuery(entry, query)) found.push(entry);
      }
      return found;
    },
    count() {
      return byId.size;
    },
  };
}
