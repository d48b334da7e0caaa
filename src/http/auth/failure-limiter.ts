/** Counts failed authentications per client address and says when an address must wait. */
export interface FailureLimiter {
  /** Milliseconds this address must still wait, 0 when it may try. */
  retryAfterMs(address: string): number;
  /** Records one failure of this address. */
  recordFailure(address: string): void;
  /** Addresses currently tracked (bounded by `maxClients`). */
  size(): number;
}

export interface FailureLimiterOptions {
  /** Failures allowed per window; the next request waits until the window ends. */
  limit: number;
  windowMs: number;
  /** Most addresses remembered; the oldest window is forgotten first. */
  maxClients: number;
  now?: () => number;
}

/**
 * A fixed window per address in a Map kept in insertion order: a new or restarted window moves to
 * the end, so when the table is full the first entry is the oldest and goes. Memory stays at
 * `maxClients` entries whatever addresses a client sprays.
 */
export function createFailureLimiter(options: FailureLimiterOptions): FailureLimiter {
  const { limit, windowMs, maxClients } = options;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { startedAt: number; failures: number }>();
  // Walks the windows oldest first, kept from one eviction to the next: every entry before it has
  // been deleted, and a new or restarted window goes to the end, after it. A new iterator for each
  // eviction walked past every entry deleted since the Map last compacted (V8 leaves them in place
  // until then): 13-16 us a failure at 65,537 to 100,000 addresses, 20-35 times what adding one
  // cost, where this takes 0.5-1.2 us (AUTH_FAILURE_MAX_CLIENTS sets the size).
  let oldestFirst: Iterator<string, undefined> | undefined;
  // Sets and deletes since the iterator last moved. An iterator that does not move holds every
  // table V8 has since replaced the Map's with, entries and all (it finds its place through them):
  // below a full table nothing moved it, and 1,000 addresses whose windows kept ending and starting
  // again held 115 bytes more per restart, without bound. V8 replaces the table at most a few times
  // in as many changes as it has entries, so past that the iterator is let go (one made at the next
  // eviction walks the deleted entries once, for at least as many changes).
  let unseenChanges = 0;
  const changed = () => {
    if (++unseenChanges > windows.size) oldestFirst = undefined;
  };
  const oldest = () => {
    unseenChanges = 0;
    let next = oldestFirst?.next();
    // An iterator that reached the end stays there: one made now starts at the oldest.
    if (next === undefined || next.done === true) {
      oldestFirst = windows.keys();
      next = oldestFirst.next();
    }
    return next.value;
  };

  const current = (address: string) => {
    const entry = windows.get(address);
    if (entry && now() - entry.startedAt >= windowMs) {
      windows.delete(address);
      changed();
      return undefined;
    }
    return entry;
  };

  return {
    retryAfterMs(address) {
      const entry = current(address);
      if (!entry || entry.failures < limit) return 0;
      return Math.max(1, entry.startedAt + windowMs - now());
    },
    recordFailure(address) {
      const entry = current(address);
      if (entry) {
        entry.failures += 1;
        return;
      }
      if (windows.size >= maxClients) {
        const address = oldest();
        if (address !== undefined) windows.delete(address);
      }
      windows.set(address, { startedAt: now(), failures: 1 });
      changed();
    },
    size: () => windows.size,
  };
}
