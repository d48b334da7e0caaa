/** Keys remembered for a fixed time, at most `maxEntries` of them. */
export interface DedupWindow<V> {
  /** The value stored for a key still inside its window. */
  get(key: string, nowMs: number): V | undefined;
  add(key: string, value: V, nowMs: number): void;
  /** Keys held, some possibly past their window until their generation is dropped. */
  size(): number;
}

/**
 * A time window over keys, in two generations and without a single delete: a key goes into the
 * newer one; once that has taken keys for `windowMs`, or holds half of `maxEntries`, it becomes
 * the older one and the older one is dropped whole. A time-based turn loses nothing (every key of
 * the dropped generation was added more than a window ago); under a flood the oldest keys go first.
 * Each key keeps its own expiry, so it is found exactly while its window lasts. A Map that deletes
 * its oldest key on every insert (the obvious FIFO) rebuilds its table in the old generation now and
 * then, a cost the garbage collector paid on every alert (id-index.ts, address-counts.ts).
 */
export function createDedupWindow<V>(options: { windowMs: number; maxEntries: number }): DedupWindow<V> {
  const half = Math.max(1, Math.floor(options.maxEntries / 2));
  let newer = new Map<string, { value: V; expiresAt: number }>();
  let older = new Map<string, { value: V; expiresAt: number }>();
  let newerSince: number | undefined;

  const turn = () => {
    older = newer;
    newer = new Map();
    newerSince = undefined;
  };
  const turnIfDue = (nowMs: number) => {
    if (newerSince !== undefined && nowMs - newerSince >= options.windowMs) turn();
  };

  return {
    get(key, nowMs) {
      turnIfDue(nowMs);
      const entry = newer.get(key) ?? older.get(key);
      return entry !== undefined && entry.expiresAt > nowMs ? entry.value : undefined;
    },
    add(key, value, nowMs) {
      turnIfDue(nowMs);
      newerSince ??= nowMs;
      newer.set(key, { value, expiresAt: nowMs + options.windowMs });
      if (newer.size >= half) turn();
    },
    size: () => newer.size + older.size,
  };
}
