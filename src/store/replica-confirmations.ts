import { isAfter, type StorePosition } from '../alerts/store-position.js';
import { onlineReplicasIn } from './master-role.js';
import { createPendingWrites, type PendingWrite } from './pending-writes.js';
import { streamPosition } from './redis-alert-entry.js';

/**
 * Alerts the master took that not every replica is known to hold yet. Redis replicates asynchronously:
 * a Sentinel failover promotes a replica without the master's last writes, and alerts the
 * receiver had taken off its queue were gone from every replica's answers. Each round of writes
 * ends with `WAIT <replicas online>` (as `ROLE` lists them): once every one has them they are done,
 * whichever a failover promotes; until then (none, or only some, in time) they are kept, and queued
 * again once the link comes back (maybe to the promoted replica, where the write script adds those
 * it lacks and skips the others). While the master has no replica online (`ROLE` lists none) there
 * is nothing to wait for: the round ends at once and its alerts stay kept until a later `WAIT`
 * every replica online then meets confirms them.
 * A WAIT counts the writes of its own connection: the link is one connection to one master
 * (redis-sentinel-links.ts ends it when Sentinel names another), and after a relink only a re-send
 * makes the kept alerts this link's.
 */
export interface ReplicaConfirmations {
  /**
   * After a round of writes on the link: waits briefly for every replica online to hold them (and
   * all before). False when a replica is online but not all confirmed in time (the round was held
   * the whole wait); true once all hold them, or at once while the master has none online.
   */
  confirm(written: readonly PendingWrite[]): Promise<boolean>;
  /** The link dropped and came back (maybe to another master): its replicas are looked at again. */
  relinked(): void;
  /** After the link came back: the alerts to queue again, oldest first (once). */
  takeUnconfirmed(): PendingWrite[];
  /** Keeps taken alerts again, in front, for the next time the link comes back (it dropped again). */
  keepForRelink(writes: PendingWrite[]): void;
  /**
   * Keeps taken alerts the master holds again, in front, not written again: it had them, but not
   * every replica may (one lagged), so they stay kept until a `WAIT` on this link all replicas meet.
   */
  keepHeld(writes: PendingWrite[]): void;
  /** True while the link came back and alerts kept from before wait for `takeUnconfirmed`. */
  owed(): boolean;
  /** False while `ROLE` last listed no replica online; true otherwise (also while unknown). */
  replicaOnline(): boolean;
  /** Stops the looks made while none is online. */
  close(): void;
}

// How long a link's mark stays: any while, it only has to be written.
const MARK_TTL_MS = 60_000;

export function createReplicaConfirmations(options: {
  send: (args: string[]) => Promise<unknown>;
  /** Most alerts kept unconfirmed (STORE_PENDING_MAX): past it the oldest are given up. */
  max: number;
  /** Most bytes kept unconfirmed (STORE_MAX_BYTES), as for the queue: past it the oldest are given up. */
  maxBytes: number;
  /** How long one round waits for a replica before it goes on (the alerts stay kept). */
  waitMs: number;
  /**
   * How old the count of replicas online a WAIT asks for may be: a round of writes looks at the
   * master again (`ROLE`) once the last look is this old. While none is online it is looked at again
   * this often with or without writes.
   */
  lookEveryMs: number;
  /**
   * A key the link sets (it expires) before its first `WAIT`. Since Redis 7.2 a `WAIT` waits for the
   * link's last write that Redis replicated, and a link that has replicated none (new, and its first
   * round only alerts the master held: written before a blip, whose answer the blip lost) waits for
   * nothing: the replicas were counted as holding alerts one of them lacked. Set, it makes every
   * `WAIT` of the link cover all that the master held when the link came up.
   */
  markKey?: string;
  /** Called with each look's finding: whether the master has a replica online. */
  onLook?: (online: boolean) => void;
  /**
   * Called with how many of the oldest kept alerts were given up to stay within the bounds: they
   * are on the master, but written again after a failover no more, so the promoted replica may lack
   * them. Not while every look on this link found no replica online (nothing to promote).
   */
  onGiveUp?: (count: number) => void;
  /** Called with the alerts a `WAIT` confirmed, oldest first: they are not written again. */
  onConfirmed?: (writes: PendingWrite[]) => void;
}): ReplicaConfirmations {
  const unconfirmed = createPendingWrites(options.max, options.maxBytes);
  const takeAll = () => unconfirmed.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const gaveUp = (count: number) => count > 0 && neverAnyOnline !== true && options.onGiveUp?.(count);
  let relinked = false;
  // The link has set markKey.
  let marked = false;
  // How many replicas ROLE listed online last (undefined: not asked on this link yet), when, and
  // which look is the latest.
  let online: number | undefined;
  let lookedAt = 0;
  let looks = 0;
  const noneOnline = () => online === 0;
  // True while every look on this link found no replica online: a master without replicas (a
  // single-node set-up) has none to promote, so nothing given up is at risk. False once a look
  // found one (it may be promoted, though it went away since) or could not tell (ROLE refused);
  // undefined until a look on this link answers.
  let neverAnyOnline: boolean | undefined;
  // While none is online the looks go on without writes too: an idle receiver's gauge comes back.
  let again: NodeJS.Timeout | undefined;
  let closed = false;
  const lookAgainLater = () => {
    clearTimeout(again);
    again = noneOnline() && !closed ? setTimeout(() => void look(), options.lookEveryMs).unref() : undefined;
  };

  async function look(): Promise<void> {
    const own = ++looks;
    const count = onlineReplicasIn(await options.send(['ROLE']).catch(() => undefined));
    // A look begun on an older link, or before a later one, says nothing of now.
    if (own !== looks) return;
    // A reply that is not a master's (an error, a refused ROLE) tells nothing: a WAIT for one
    // replica decides, as before ROLE was asked.
    online = count ?? 1;
    neverAnyOnline = count === 0 && neverAnyOnline !== false;
    lookedAt = Date.now();
    lookAgainLater();
    if (count !== undefined) options.onLook?.(count > 0);
  }

  return {
    async confirm(written) {
      // Nothing written this round (its first batch failed): nothing to wait for.
      if (written.length === 0) return true;
      let over = 0;
      for (const write of written) over += unconfirmed.push(write).length;
      gaveUp(over);
      // The count is at most lookEveryMs old (one ROLE a second while writing): a WAIT for fewer than
      // are online let one that joined lag unseen, and one for more held every round its whole wait.
      if (online === undefined || Date.now() - lookedAt >= options.lookEveryMs) await look();
      // No replica online: a WAIT would take its whole waitMs and confirm nothing.
      if (noneOnline()) return true;
      // Every replica online, not one: a failover may promote any of them (one that lags, or was cut
      // off and is still listed), and the one promoted must hold them.
      const asked = online ?? 1;
      // Tried again at the next round until it is set (a write refused for memory, a link dropping).
      if (!marked && options.markKey !== undefined)
        marked = await options.send(['SET', options.markKey, '1', 'PX', String(MARK_TTL_MS)]).then(
          () => true,
          () => false,
        );
      // A reply below it (some or none in time) or none (the link dropped) keeps them.
      const replicas = Number(
        await options.send(['WAIT', String(asked), String(options.waitMs)]).catch(() => 0),
      );
      if (replicas >= asked) {
        // WAIT counts the writes of this link only: those made before it came back stay kept.
        // Taken first: in `onConfirmed?.(takeAll())` nothing would be taken without a listener.
        const confirmed = relinked ? [] : takeAll();
        if (confirmed.length > 0) options.onConfirmed?.(confirmed);
        return true;
      }
      // Some in time: one lags, or left since the last look (the next look, within lookEveryMs, tells).
      // Kept until a WAIT they all meet, which confirms every write before it on this link too.
      if (replicas > 0) return false;
      // None in time: a replica lagging, or none left online (it went away since the last look).
      await look();
      return noneOnline();
    },
    relinked() {
      relinked = true;
      marked = false;
      online = undefined;
      neverAnyOnline = undefined;
      void look();
    },
    takeUnconfirmed() {
      if (!relinked) return [];
      relinked = false;
      return takeAll();
    },
    keepForRelink(writes) {
      gaveUp(unconfirmed.giveBack(writes));
      // WAIT on this link would confirm none of them.
      relinked = true;
    },
    // Replication is one ordered stream: a WAIT after this link's next write covers all the master
    // held before it, so the first one every replica meets confirms them too.
    keepHeld: (writes) => gaveUp(unconfirmed.giveBack(writes)),
    owed: () => relinked && unconfirmed.size() > 0,
    replicaOnline: () => !noneOnline(),
    close() {
      closed = true;
      clearTimeout(again);
    },
  };
}

/**
 * Of the alerts to write again after a relink, those the stream would still hold: inside
 * STORE_RETENTION and not trimmed from it. Trimmed ones are not lost: written again they came
 * back as the newest alerts, and pushed out (STORE_MAX_ALERTS) the ones received after them. The
 * stream's `removed` entry id (max-deleted-entry-id, Redis 7) tells: one no later than it was
 * trimmed (the write script trims with XDEL, which sets it; an XTRIM by hand does not, and what it
 * removed is written again). A master promoted before it had the old one's writes holds only what
 * came after, and none of those is older than an alert it never had. Without `removed` (before
 * Redis 7, or XINFO refused) an alert older than the stream's `first` entry is taken as trimmed
 * (undefined: an empty stream keeps all).
 */
export function keepUntrimmed<T extends Pick<PendingWrite, 'streamId'>>(
  writes: T[],
  stream: { removed?: string; first?: string },
  retainedFromMs: number,
): T[] {
  const edge = stream.removed ?? stream.first;
  const bound = edge === undefined ? undefined : streamPosition(edge);
  const kept = (at: StorePosition) =>
    bound === undefined || (stream.removed === undefined ? !isAfter(bound, at) : isAfter(at, bound));
  return writes.filter((write) => {
    if (write.streamId === undefined) return true;
    const at = streamPosition(write.streamId);
    return at[0] >= retainedFromMs && kept(at);
  });
}
