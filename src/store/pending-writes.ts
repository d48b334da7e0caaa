/** One alert waiting to be written: its script arguments and size. */
export interface PendingWrite {
  id: string;
  args: string[];
  bytes: number;
  /** Its stream entry once Redis wrote it (kept for a re-send after a failover). */
  streamId?: string;
  /** Its place in the order alerts were added (answer-waits.ts): its answer waits for it. */
  seq?: number;
}

/**
 * A bounded FIFO of alerts not yet written, by count and by bytes. When full, the oldest waiting
 * alerts are dropped (the caller counts and logs them); alerts already sent and awaiting a reply
 * are never dropped.
 */
export interface PendingWrites {
  /** Queues the alert; returns the oldest ones dropped to stay within the bounds. */
  push(write: PendingWrite): PendingWrite[];
  /** Whether queuing an alert of `bytes` now would drop one of the oldest that `matters` holds for. */
  wouldDrop(bytes: number, matters: (write: PendingWrite) => boolean): boolean;
  /** Takes the oldest alerts, at most `maxCount` and about `maxBytes`, as a batch in flight. */
  take(maxCount: number, maxBytes: number): PendingWrite[];
  /** Puts a failed batch back in front, in its order; returns how many oldest were dropped to stay bounded. */
  giveBack(batch: PendingWrite[]): number;
  size(): number;
  /** The ids of the waiting alerts, oldest first. */
  ids(): string[];
}

export function createPendingWrites(max: number, maxBytes: number): PendingWrites {
  let queue: PendingWrite[] = [];
  let bytes = 0;
  // How many oldest go for the queue, with `extra` more alerts of `extraBytes`, to be within the
  // bounds; at least the newest alert stays.
  const over = (extra: number, extraBytes: number): number => {
    const length = queue.length + extra;
    let count = 0;
    let freed = 0;
    while (length - count > 1 && (length - count > max || bytes + extraBytes - freed > maxBytes))
      freed += queue[count++]!.bytes;
    return count;
  };
  // Drops the oldest while over a bound.
  const trim = (): PendingWrite[] => {
    const dropped = queue.splice(0, over(0, 0));
    for (const write of dropped) bytes -= write.bytes;
    return dropped;
  };
  return {
    push(write) {
      queue.push(write);
      bytes += write.bytes;
      return trim();
    },
    wouldDrop(extraBytes, matters) {
      // Asked for each alert while the queue is full: nothing is copied.
      const count = over(1, extraBytes);
      for (let at = 0; at < count; at++) if (matters(queue[at]!)) return true;
      return false;
    },
    take(maxCount, maxBatchBytes) {
      let count = 0;
      let batchBytes = 0;
      while (
        count < queue.length &&
        count < maxCount &&
        (count === 0 || batchBytes + queue[count]!.bytes <= maxBatchBytes)
      )
        batchBytes += queue[count++]!.bytes;
      bytes -= batchBytes;
      return queue.splice(0, count);
    },
    giveBack(batch) {
      queue = [...batch, ...queue];
      for (const write of batch) bytes += write.bytes;
      // Over a bound after a failure: the oldest go, as in push.
      return trim().length;
    },
    size: () => queue.length,
    ids: () => queue.map((write) => write.id),
  };
}
