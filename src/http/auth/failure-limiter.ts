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

  const current = (address: string) => {
    const entry = windows.get(address);
    if (entry && now() - entry.startedAt >= windowMs) {
      windows.delete(address);
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
        const oldest = windows.keys().next().value;
        if (oldest !== undefined) windows.delete(oldest);
      }
      windows.set(address, { startedAt: now(), failures: 1 });
    },
    size: () => windows.size,
  };
}
