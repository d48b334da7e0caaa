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
   * by then, and keeps its connection. The caller closes with closeIfLast (close-after-answer.ts),
   * which keeps it too for a request of another route read behind (a trigger call, a read).
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
  // Streaks past ONE_SHOT_AFTER apart from the others', so that forgetting the newcomers drops their
  // map: copying the one-shot streaks out of one map cost 253 us per connection from a new address
  // once 4,095 addresses were one-shot (0.42 us on a fresh table; found by review).
  let oneShot = new Map<string, number>();
  let newcomers = new Map<string, number>();
  const setStreak = (address: string, before: number, after: number) => {
    if (after > ONE_SHOT_AFTER) {
      if (before <= ONE_SHOT_AFTER) newcomers.delete(address);
      oneShot.set(address, after);
    } else {
      if (before > ONE_SHOT_AFTER) oneShot.delete(address);
      newcomers.set(address, after);
    }
  };
  return {
    arrive(socket) {
      const requests = (socket[REQUESTS] ?? 0) + 1;
      socket[REQUESTS] = requests;
      const address = socket.remoteAddress;
      // A sender that reuses its connections is a newcomer (streak 0 or 1): found by the first lookup.
      const known = address === undefined ? undefined : (newcomers.get(address) ?? oneShot.get(address));
      if (requests > 1) {
        if (address !== undefined && known !== undefined && known !== 0) setStreak(address, known, 0);
        return;
      }
      socket[CLOSABLE] = false;
      if (address === undefined) return;
      if (known === undefined && oneShot.size + newcomers.size >= maxAddresses) {
        // The newcomers are forgotten, and if every followed address is one-shot, all of them.
        if (oneShot.size >= maxAddresses) oneShot = new Map();
        newcomers = new Map();
      }
      const streak = (known ?? 0) + 1;
      setStreak(address, known ?? 0, streak);
      socket[CLOSABLE] = streak > ONE_SHOT_AFTER && streak % PROBE_EVERY !== 0;
    },
    closes: (socket) => socket[REQUESTS] === 1 && socket[CLOSABLE] === true,
  };
}
