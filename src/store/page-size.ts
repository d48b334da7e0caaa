// About this many bytes of alerts in one Redis reply, whatever the alerts' sizes.
export const PAGE_BYTES = 4 * 1024 * 1024;
// Entries in the first reply, before any size is known (at most 16 bodies of BODY_LIMIT_BYTES).
const FIRST = 16;
const MOST = 500;

/** How many stream entries to ask for next, from the sizes of those read last. */
export interface PageSizer {
  next(): number;
  /** The sizes of the entries of the last reply (received body bytes, or their fields' characters). */
  saw(sizes: readonly number[]): void;
}

/**
 * How many stream entries to ask Redis for next: few until the last reply showed how large the
 * alerts are, then as many as fit in about PAGE_BYTES (small alerts: 500 a round trip; 1 MiB
 * alerts: 4), so a read never pulls hundreds of large alerts into the heap at once.
 */
export function createPageSizer(): PageSizer {
  let largest = 0;
  return {
    next() {
      return largest === 0 ? FIRST : Math.max(1, Math.min(MOST, Math.floor(PAGE_BYTES / largest)));
    },
    saw(sizes) {
      if (sizes.length > 0) largest = Math.max(1, ...sizes);
    },
  };
}
