import type { AlertQuery, AlertStore } from './alert-store.js';
import { holdAlert, viewHeldAlert, type HeldAlert } from './held-alert.js';
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
  const byId = new Map<string, HeldAlert>();
  // Receipt order, oldest at `head`. Not the Map's own order: taking the first entry of a Map that
  // keeps losing its first entries walks over the deleted slots, which made every add slower.
  let order: HeldAlert[] = [];
  let head = 0;
  let bytes = 0;

  function evictOldest(): void {
    const oldest = order[head];
    if (oldest === undefined) return;
    order[head++] = undefined as unknown as HeldAlert;
    byId.delete(oldest.id);
    bytes -= oldest.bytes;
    // Drop the evicted prefix now and then, so the array stays about as long as the store.
    if (head > 1024 && head * 2 > order.length) {
      order = order.slice(head);
      head = 0;
    }
  }

  // Newest first, while `keep` says so; stops at `limit`.
  function collect(limit: number, keep: (entry: HeldAlert) => boolean | 'stop'): StoredAlert[] {
    const found: StoredAlert[] = [];
    for (let i = order.length - 1; i >= head && found.length < limit; i--) {
      const verdict = keep(order[i]!);
      if (verdict === 'stop') break;
      if (verdict) found.push(viewHeldAlert(order[i]!));
    }
    return found;
  }

  return {
    add(entry) {
      const held = holdAlert(entry);
      byId.set(entry.id, held);
      order.push(held);
      bytes += entry.bytes;
      while (byId.size > options.maxAlerts || (bytes > options.maxBytes && byId.size > 1)) evictOldest();
    },
    async get(id) {
      const held = byId.get(id);
      return held && viewHeldAlert(held);
    },
    async query(query: AlertQuery) {
      return collect(query.limit, (entry) => matchesQuery(entry, query));
    },
    async after(id, limit) {
      if (!byId.has(id)) return undefined;
      const newer = collect(Number.MAX_SAFE_INTEGER, (entry) => (entry.id === id ? 'stop' : true));
      return newer.slice(0, limit).reverse();
    },
    async receivedSince(sinceMs) {
      return collect(Number.MAX_SAFE_INTEGER, (entry) => entry.receivedAtMs >= sinceMs || 'stop');
    },
    async count() {
      return byId.size;
    },
    flush: () => Promise.resolve(),
    available: () => true,
  };
}
