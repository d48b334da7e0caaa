import type { AlertQuery, AlertStore } from './alert-store.js';
import { holdAlert, viewHeldAlert, type HeldAlert } from './held-alert.js';
import { matchesQuery } from './match-alert.js';
import type { StoredAlert } from './stored-alert.js';
import { createTextRing, type TextSlot } from './text-ring.js';

export interface MemoryAlertStoreOptions {
  /** Most alerts kept; the oldest go first. */
  maxAlerts: number;
  /**
   * Most bytes of alert text kept (the received JSON), so a burst of large alerts cannot grow memory
   * without bound; an alert given without its text counts its request size.
   */
  maxBytes: number;
}

/** One held alert: its fields, and where its text lies in the ring (or `text` undefined: none). */
interface Held {
  alert: HeldAlert;
  text: TextSlot | undefined;
  /** What it counts against `maxBytes`. */
  span: number;
}

/**
 * A bounded in-memory store: a FIFO by receipt, evicting by count and by bytes. The alerts' texts
 * live in one ring buffer (text-ring.ts), not in a string each.
 */
export function createMemoryAlertStore(options: MemoryAlertStoreOptions): AlertStore {
  const byId = new Map<string, Held>();
  // Receipt order, oldest at `head`. Not the Map's own order: taking the first entry of a Map that
  // keeps losing its first entries walks over the deleted slots, which made every add slower.
  let order: Held[] = [];
  let head = 0;
  let bytes = 0;
  const ring = createTextRing(options.maxBytes);

  const view = (held: Held): StoredAlert =>
    viewHeldAlert(held.text ? { ...held.alert, json: ring.read(held.text) } : held.alert);

  function evictOldest(): void {
    const oldest = order[head];
    if (oldest === undefined) return;
    order[head++] = undefined as unknown as Held;
    byId.delete(oldest.alert.id);
    bytes -= oldest.span;
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
      const verdict = keep(order[i]!.alert);
      if (verdict === 'stop') break;
      if (verdict) found.push(view(order[i]!));
    }
    return found;
  }

  return {
    add(entry) {
      const text = entry.json === undefined ? undefined : ring.plan(Buffer.byteLength(entry.json));
      let held: Held;
      if (text) {
        const { alert: _parsed, json: _text, ...fields } = entry;
        held = { alert: fields, text, span: text.span };
      } else held = { alert: holdAlert(entry), text: undefined, span: entry.bytes };
      // Room first: the ring's write position stays put, and the oldest texts are the ones after it.
      while (byId.size >= options.maxAlerts || (bytes + held.span > options.maxBytes && byId.size > 0))
        evictOldest();
      if (text) ring.write(entry.json!, text);
      byId.set(entry.id, held);
      order.push(held);
      bytes += held.span;
    },
    async get(id) {
      const held = byId.get(id);
      return held && view(held);
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
