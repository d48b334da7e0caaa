/** Keys remembered for a fixed time, at most `maxEntries` of them. */
export interface DedupWindow<V> {
  /** The value stored for a key still inside its window. */
  get(key: string, nowMs: number): V | undefined;
  add(key: string, value: V, nowMs: number): void;
  size(): number;
}

/**
 * A time window over keys. Every key lives the same time, so insertion order is expiry order and
 * a Map (insertion-ordered) evicts from its front: O(1) per alert, no timers.
 */
export function createDedupWindow<V>(options: { windowMs: number; maxEntries: number }): DedupWindow<V> {
  const entries = new Map<string, { value: V; expiresAt: number }>();

  function evict(nowMs: number): void {
    for (const [key, entry] of entries) {
      if (entry.expiresAt > nowMs && entries.size <= options.maxEntries) break;
      entries.delete(key);
    }
  }

  return {
    get(key, nowMs) {
      evict(nowMs);
      return entries.get(key)?.value;
    },
    add(key, value, nowMs) {
      entries.delete(key);
      entries.set(key, { value, expiresAt: nowMs + options.windowMs });
      evict(nowMs);
    },
    size: () => entries.size,
  };
}
