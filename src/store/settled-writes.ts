import type { PendingWrite } from './pending-writes.js';
import type { RedisKeys } from './redis-alert-entry.js';
import { keepUntrimmed } from './replica-confirmations.js';
import { readStreamEdges, type StreamEdges } from './read-stream-edges.js';
import { StoreUnavailableError } from './store-unavailable-error.js';

/** An alert Redis answered with a stream id for, and when that was known, on this process's clock. */
export type WrittenAlert = { id: string; streamId: string; settledAtMs: number };

/**
 * The newest alert this replica wrote that it will not write again: every write without Sentinel,
 * and through it once every replica online confirmed it (an unconfirmed one is written again if the master
 * lacks it after a relink). After a relink the first flush asks whether Redis still holds it: a
 * Redis restarted from a snapshot older than it lost it and every later write, answered 202, and
 * readers whose last read the snapshot holds went on as if nothing had been written after it.
 */
export interface SettledWrites {
  /** Writes settled, oldest first. */
  settled(writes: readonly PendingWrite[]): void;
  /** The link came back: the next `verify` asks about the newest settled so far. */
  relinked(): void;
  /** Calls `onLost` with the newest settled write when the stream lost it without a trim. */
  verify(): Promise<void>;
}

export function createSettledWrites(options: {
  send: (args: string[]) => Promise<unknown>;
  keys: Pick<RedisKeys, 'alerts' | 'ids'>;
  /** The receipt time STORE_RETENTION keeps alerts from, now, on Redis's clock (stream ids'). */
  retainedFromMs: () => Promise<number>;
  onLost: (write: WrittenAlert) => void;
}): SettledWrites {
  const { send, keys } = options;
  let newest: WrittenAlert | undefined;
  let unverified: WrittenAlert | undefined;
  return {
    // The last settled rather than the greatest id: a master promoted with a clock behind the old
    // one's gives ids below those the old one gave.
    settled(writes) {
      for (const { id, streamId } of writes) if (streamId) newest = { id, streamId, settledAtMs: Date.now() };
    },
    relinked() {
      unverified = newest;
    },
    async verify() {
      const write = unverified;
      if (!write) return;
      // The retention edge is read with the rest: a relink while it was awaited after them set
      // `unverified` again, and the same gap was told twice.
      const answers = await Promise.all([
        send(['HGET', keys.ids, write.id]),
        readStreamEdges(send, keys.alerts),
        options.retainedFromMs(),
      ]).catch((error: unknown) => error);
      // Unanswered (the link dropped, or Redis loading or busy): asked at the next flush.
      if (answers instanceof StoreUnavailableError) return;
      unverified = undefined;
      // Refused (an ACL): nothing is said, and it is not asked again on this link (before, every
      // flush asked again, before each round of writes).
      if (!Array.isArray(answers)) return;
      const [held, edges, retainedFromMs] = answers as [unknown, StreamEdges, number];
      // Gone from the id index, as a trimmed alert is too: lost unless the stream removed it (by
      // count or age, or shed at maxmemory: `max-deleted-entry-id` at or past it).
      if (held !== null || keepUntrimmed([write], edges, retainedFromMs).length === 0) return;
      // Told once: until this replica writes again, every later relink found it lost again (Redis
      // not restarted since) and told the same gap again.
      if (newest === write) newest = undefined;
      options.onLost(write);
    },
  };
}
