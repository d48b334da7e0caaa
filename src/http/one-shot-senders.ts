/**
 * Fresh connections in a row from one address, none reused in between, before it counts as a sender
 * that opens a connection per alert (Falco 0.34 and 0.35: a new libcurl handle per alert, closed once
 * answered).
 */
export const ONE_SHOT_AFTER = 8;
/**
 * A one-shot sender still gets one connection in this many left open, so that a sender that starts
 * reusing its connection (the same address, Falco upgraded to 0.36+) is seen to, and kept alive again.
 */
export const PROBE_EVERY = 16;
/** Addresses followed at most; past it, those not yet one-shot are forgotten (and, if none are, all). */
export const MAX_SENDER_ADDRESSES = 4096;

/** What closeAfterAnswer reads of a request's socket (a node:net Socket). */
export interface SenderSocket {
  readonly remoteAddress?: string;
  readonly bytesWritten: number;
}

export interface OneShotSenders {
  /**
   * Called for each request before anything is written to its connection: whether to answer it with
   * `Connection: close`. The receiver then closes the connection itself, right after the answer,
   * instead of keeping it open until the sender closes it (a wake-up, a read of the end of stream and
   * a keep-alive timer more, about 10 us of the receiver's CPU per alert on loopback), and the closed
   * connection's TIME_WAIT stays on the receiver, not among the sender's ephemeral ports.
   */
  closeAfterAnswer(socket: SenderSocket): boolean;
}

/**
 * Learns, per client address, whether its connections each carry one request. A request on a
 * connection that has answered before proves the address reuses connections, and its count starts
 * again from zero; a request on a fresh connection adds one. Past ONE_SHOT_AFTER, fresh connections
 * are answered with `Connection: close`, except every PROBE_EVERY-th. A sender that reuses its
 * connection keeps the count at zero or one, so it is never closed; on an address shared by both
 * kinds, each reuse resets the count, and the keep-alive sender keeps its connection.
 */
export function createOneShotSenders(maxAddresses: number = MAX_SENDER_ADDRESSES): OneShotSenders {
  let streaks = new Map<string, number>();
  const forgetNewcomers = () => {
    const oneShot = new Map<string, number>();
    for (const [address, streak] of streaks) if (streak > ONE_SHOT_AFTER) oneShot.set(address, streak);
    streaks = oneShot.size < maxAddresses ? oneShot : new Map();
  };
  return {
    closeAfterAnswer(socket) {
      const address = socket.remoteAddress;
      if (address === undefined) return false;
      const known = streaks.get(address);
      if (socket.bytesWritten > 0) {
        if (known !== undefined && known !== 0) streaks.set(address, 0);
        return false;
      }
      if (known === undefined && streaks.size >= maxAddresses) forgetNewcomers();
      const streak = (known ?? 0) + 1;
      streaks.set(address, streak);
      return streak > ONE_SHOT_AFTER && streak % PROBE_EVERY !== 0;
    },
  };
}
