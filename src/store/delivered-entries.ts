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
  const entries = new Map<string, string>();
  // The stream ids in the order published, a ring: the slot written next holds the oldest. Not the
  // Map's first key: V8 finds it by walking over the slots of the keys deleted before it, and at
  // the live reader's bound each published alert cost about 5 us (30 times as much as at 16).
  const order: Array<string | undefined> = new Array<string | undefined>(max);
  let next = 0;
  return {
    add(streamId, alertId) {
      const oldest = order[next];
      if (oldest !== undefined) entries.delete(oldest);
      order[next] = streamId;
      next = (next + 1) % max;
      entries.set(streamId, alertId);
    },
    // The alert too: two masters may each give a stream id to an alert of their own.
    has: (streamId, alertId) => entries.get(streamId) === alertId,
  };
}
