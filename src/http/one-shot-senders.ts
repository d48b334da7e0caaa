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

// Requests seen on a connection, and whether its first may be answered with its close, kept on its
// socket (the same properties on every socket, set at its first request): a Map or WeakMap holding
// each socket until it closed cost the scavenger more than this whole check (connection-tracker.ts).
const REQUESTS = Symbol('ingest requests on this connection');
const CLOSABLE = Symbol('first request from a one-shot sender');

/** What the senders read of a request's socket (a node:net Socket); they keep their counts on it. */
export interface SenderSocket {
  readonly remoteAddress?: string;
  [REQUESTS]?: number;
  [CLOSABLE]?: boolean;
}

export interface OneShotSenders {
  /** Called when an ingest request arrives, before anything else is done with it: counts it. */
  arrive(socket: SenderSocket): void;
  /**
   * At the answer of a request: whether it closes the connection. Only the connection's first
   * request from an address that sends one request per connection (and not a probe), and only
   * while it is still its connection's only one: a client that pipelines has its next request read
   * by then, and keeps its connection.
   */
  closes(socket: SenderSocket): boolean;
}

/**
 * Learns, per client address, whether its connections each carry one request. A second request on
 * a connection proves the address reuses connections, and its count starts again from zero; a first
 * request adds one. Past ONE_SHOT_AFTER, answers to first requests carry `Connection: close`, except
 * on every PROBE_EVERY-th connection, and the receiver closes right after the answer instead of
 * keeping the connection until the sender closes it: a wake-up, a read of the end of stream and a
 * keep-alive timer less (8-10 us of the receiver's CPU per alert on loopback), and a connection the
 * receiver closes first leaves its TIME_WAIT on the receiver, not among the sender's ephemeral
 * ports. A sender that reuses its connection keeps the count at zero or one, so it is never closed;
 * on an address shared by both kinds, each reuse resets the count, and the keep-alive sender keeps
 * its connection.
 */
export function createOneShotSenders(maxAddresses: number = MAX_SENDER_ADDRESSES): OneShotSenders {
  let streaks = new Map<string, number>();
  const forgetNewcomers = () => {
    const oneShot = new Map<string, number>();
    for (const [address, streak] of streaks) if (streak > ONE_SHOT_AFTER) oneShot.set(address, streak);
    streaks = oneShot.size < maxAddresses ? oneShot : new Map();
  };
  return {
    arrive(socket) {
      const requests = (socket[REQUESTS] ?? 0) + 1;
      socket[REQUESTS] = requests;
      const address = socket.remoteAddress;
      const known = address === undefined ? undefined : streaks.get(address);
      if (requests > 1) {
        if (address !== undefined && known !== undefined && known !== 0) streaks.set(address, 0);
        return;
      }
      socket[CLOSABLE] = false;
      if (address === undefined) return;
      if (known === undefined && streaks.size >= maxAddresses) forgetNewcomers();
      const streak = (known ?? 0) + 1;
      streaks.set(address, streak);
      socket[CLOSABLE] = streak > ONE_SHOT_AFTER && streak % PROBE_EVERY !== 0;
    },
    closes: (socket) => socket[REQUESTS] === 1 && socket[CLOSABLE] === true,
  };
}
