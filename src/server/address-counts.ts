/**
 * A count per client address (requests or connections in flight, bytes held). An address whose count falls to
 * 0 keeps its entry until there are `pruneAt` entries, then every zero goes at once: a Map that
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
  return {
    get: (address) => counts.get(address) ?? 0,
    add(address, amount = 1) {
      if (counts.size >= pruneAt && !counts.has(address)) {
        const live = new Map<string, number>();
        for (const [key, count] of counts) if (count > 0) live.set(key, count);
        counts = live;
      }
      counts.set(address, (counts.get(address) ?? 0) + amount);
    },
    remove(address, amount = 1) {
      const count = counts.get(address);
      if (count !== undefined && count > 0) counts.set(address, Math.max(0, count - amount));
    },
    size: () => counts.size,
  };
}
