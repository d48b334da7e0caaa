/**
 * A count per client address (requests or connections in flight, bytes held). An address whose count falls to
 * 0 keeps its entry until there are `pruneAt` entries, at least half of them zeros, then every zero
 * goes at once (each new address costs amortized O(1)): a Map that
 * deletes a key and sets it again on every request rebuilds its table in the old generation each few
 * times, and that churn alone (one Falco 0.34 node posting one alert per connection) grew the old
 * generation by about 150 bytes per alert, a full collection every 2 s at 18,000 alerts/s.
 */
export interface AddressCounts {
  get(address: string): number;
  /** Adds `amount` (default 1) to the address's count. */
  add(address: string, amount?: number): void;
  /** Takes `amount` (default 1) from it, never below zero. */
  remove(address: string, amount?: number): void;
  /** Addresses with an entry, at zero or not. */
  size(): number;
}

const DEFAULT_PRUNE_AT = 4096;

export function createAddressCounts(pruneAt: number = DEFAULT_PRUNE_AT): AddressCounts {
  let counts = new Map<string, number>();
  // Entries above zero. The zeros go only when they are at least half the entries: with pruneAt or
  // more addresses live (held connections from as many addresses), a rebuild per new address copied
  // every live entry each time, 2.4 ms of CPU per new connection at 6,000 (found by review).
  let live = 0;
  const set = (address: string, before: number, after: number) => {
    counts.set(address, after);
    if (before === 0 && after > 0) live++;
    else if (before > 0 && after === 0) live--;
  };
  return {
    get: (address) => counts.get(address) ?? 0,
    add(address, amount = 1) {
      if (counts.size >= pruneAt && counts.size >= 2 * live && !counts.has(address)) {
        const kept = new Map<string, number>();
        for (const [key, count] of counts) if (count > 0) kept.set(key, count);
        counts = kept;
      }
      const before = counts.get(address) ?? 0;
      set(address, before, before + amount);
    },
    remove(address, amount = 1) {
      const count = counts.get(address);
      if (count !== undefined && count > 0) set(address, count, Math.max(0, count - amount));
    },
    size: () => counts.size,
  };
}
