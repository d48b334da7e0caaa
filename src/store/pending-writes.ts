/** One alert waiting to be written: its script arguments and size. */
export interface PendingWrite {
  id: string;
  args: string[];
  bytes: number;
}

/**
 * A bounded FIFO of alerts not yet written. When full, the oldest waiting alert is dropped (the
 * caller counts and logs it); alerts already sent and awaiting a reply are never dropped.
 */
export interface PendingWrites {
  push(write: PendingWrite): PendingWrite | undefined;
  /** Takes the oldest alerts, at most `maxCount` and about `maxBytes`, as a batch in flight. */
  take(maxCount: number, maxBytes: number): PendingWrite[];
  /** Puts a failed batch back in front, in its order; returns how many oldest were dropped to stay bounded. */
  giveBack(batch: PendingWrite[]): number;
  size(): number;
}

export function createPendingWrites(max: number): PendingWrites {
  let queue: PendingWrite[] = [];
  return {
    push(write) {
      queue.push(write);
      return queue.length > max ? queue.shift() : undefined;
    },
    take(maxCount, maxBytes) {
      let count = 0;
      let bytes = 0;
      while (
        count < queue.length &&
        count < maxCount &&
        (count === 0 || bytes + queue[count]!.bytes <= maxBytes)
      )
        bytes += queue[count++]!.bytes;
      return queue.splice(0, count);
    },
    giveBack(batch) {
      queue = [...batch, ...queue];
      // Over the bound after a failure: the oldest go, as in push.
      const over = Math.max(0, queue.length - max);
      queue.splice(0, over);
      return over;
    },
    size: () => queue.length,
  };
}
