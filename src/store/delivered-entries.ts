/**
 * The stream entries the live reader published last, each with its alert's id: at most `max`, the
 * oldest forgotten first. After the stream changed under the reader (a failover, a restart), they
 * tell which of the entries the new stream holds it published already, and whether an alert this
 * replica wrote was published before Redis lost it.
 */
export interface DeliveredEntries {
  add(streamId: string, alertId: string): void;
  /** True when the entry of `streamId` holding alert `alertId` was published (and not forgotten yet). */
  has(streamId: string, alertId: string): boolean;
}

export function createDeliveredEntries(max: number): DeliveredEntries {
  // Kept in the order published (a Map iterates in insertion order): the first key is the oldest.
  const entries = new Map<string, string>();
  return {
    add(streamId, alertId) {
      entries.set(streamId, alertId);
      if (entries.size > max) entries.delete(entries.keys().next().value!);
    },
    // The alert too: two masters may each give a stream id to an alert of their own.
    has: (streamId, alertId) => entries.get(streamId) === alertId,
  };
}
