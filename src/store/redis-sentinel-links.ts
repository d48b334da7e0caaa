import type * as Redis from 'redis';
import type { RedisStoreConfig, RedisTarget } from '../config/store-env.js';
import { CONNECT_DEADLINE_MS, connectWithin } from './connect-within.js';
import type { RedisLinkOpener } from './redis-link.js';
import { signInCredentials } from './store-credentials.js';
import { withDeadline } from './with-deadline.js';

/**
 * The links of one name through Sentinel (`onError` as for createRedisLinkOpener): one Sentinel object
 * for all of them, connected again after each loss. createSentinel builds a class of every Redis and
 * module command on each call (node-redis caches none for Sentinel), 40-110 ms of blocked event loop
 * per attempt while the master was down or the sentinels unreachable; with our two links the loop was
 * busy 9% of such an outage, now 1%.
 *
 * A link is one connection to one master: node-redis moves to a promoted replica by itself
 * (`topology-change` MASTER_CHANGE, at a graceful failover the old master still up), and that ends
 * the link as a lost socket does, so its owner connects again and knows (a WAIT counts the writes of
 * its own connection only). A command in flight when its link ends fails then: were node-redis to
 * retry it on the new master, its reply would come from another server than the link's.
 */
export function sentinelLinks(
  { createSentinel, ErrorReply }: typeof Redis,
  config: RedisStoreConfig,
  target: Extract<RedisTarget, { kind: 'sentinel' }>,
  name: string,
  onError: (error: unknown) => void,
): RedisLinkOpener {
  const nodeCredentials = signInCredentials(config);
  const sentinelCredentials = config.sentinelAuth && signInCredentials(config.sentinelAuth);
  // Aborted when the link of this connection gives up or is destroyed.
  let attempt = new AbortController();
  // What node-redis said last while a connect of ours waited: it retries a Sentinel's refusal
  // (NOAUTH, WRONGPASS) and a master's within the connect and tells them only as 'error' events, so
  // a connect given up on said only 'no answer within 3000 ms'.
  let lastError: unknown;
  const noteError = (error: unknown) => {
    lastError = error;
    onError(error);
  };
  const create = () =>
    createSentinel({
      name: target.master,
      sentinelRootNodes: target.sentinels,
      // STORE_USERNAME, and the password of STORE_PASSWORD_FILE as the file holds it at each connect
      // (store-credentials.ts); the Sentinels' own likewise, when they ask for one.
      nodeClientOptions: {
        credentialsProvider: nodeCredentials,
        name,
        socket: nodeSocket(() => attempt.signal),
      },
      sentinelClientOptions: {
        ...(sentinelCredentials && { credentialsProvider: sentinelCredentials }),
        socket: { connectTimeout: 2_000 },
      },
      scanInterval: 1_000,
      passthroughClientErrorEvents: true,
    })
      .on('error', noteError)
      .on('topology-change', onTopologyChange);
  // Which connection is the Sentinel's now (0: none): a link destroys only its own.
  let live = 0;
  let opened = 0;
  // The connection whose connect has ended: the master it found is its own (each connect finds one).
  let connected = 0;
  function onTopologyChange(event: { type: string; node?: { host: string; port: number } }): void {
    if (event.type !== 'MASTER_CHANGE' || connected === 0 || connected !== live) return;
    void destroy(connected);
    onError(new Error(`the Redis master moved to ${event.node?.host}:${event.node?.port}`));
  }
  let sentinel = create();
  const isReplyError = (error: unknown) => error instanceof ErrorReply;
  // node-redis connects a Sentinel again only once its destroy has ended, and that waits for its
  // discovery loop to stop (at most about a second between two rounds).
  let ending: Promise<void> = Promise.resolve();
  // Fails what the live connection's link has in flight (see its send).
  let endLink: () => void = () => undefined;
  const destroy = (own: number) => {
    if (own === live) {
      live = 0;
      endLink();
      // Ends the master connects of this connection, so the destroy can end too.
      attempt.abort();
      ending = sentinel.destroy().catch(() => undefined);
    }
    return ending;
  };
  return async () => {
    try {
      // One socket at a time: the connect given up on ends first.
      await withDeadline(ending, CONNECT_DEADLINE_MS, 'redis sentinel teardown');
    } catch {
      // Not expected (the master connects were aborted): a new object (its class built again) while
      // the old one waits, its errors not ours.
      sentinel
        .removeAllListeners('topology-change')
        .removeAllListeners('error')
        .on('error', () => undefined);
      sentinel = create();
    }
    attempt = new AbortController();
    const own = (live = ++opened);
    const mine = sentinel;
    lastError = undefined;
    await connectWithin(mine.connect(), () => void destroy(own)).catch((error: unknown) => {
      throw withLastError(error, lastError);
    });
    connected = own;
    const gone = () => Promise.reject(new Error('redis link destroyed'));
    // What this link has in flight, each failed when it ends (never before: it is the live
    // connection's until then). A set the replies leave, not one promise every command races: a link
    // lives for days, and each race left a reaction on that promise until the link ended (found by
    // review: 34 MB more after 100,000 commands).
    const inFlight = new Set<(error: Error) => void>();
    endLink = () => {
      for (const fail of inFlight) fail(new Error('redis link destroyed'));
      inFlight.clear();
    };
    return {
      // A link that is gone does not wait for the next connection of the object, and what it has in
      // flight fails when it ends: node-redis holds a command whose master client it closed until its
      // rediscovery ends (a second or more), then sends it to the new master (whose reply is not this
      // link's) or, the Sentinel destroyed, fails it with its own "TypeError: Cannot read properties
      // of undefined (reading 'isReady')". Both came at every failover, reads answering 503 only at
      // their deadline and store_write_failed naming the TypeError.
      send: (args) =>
        own === live
          ? new Promise((resolve, reject) => {
              inFlight.add(reject);
              const settled = () => inFlight.delete(reject);
              mine.sendCommand(false, args).then(
                (reply) => {
                  settled();
                  resolve(reply);
                },
                (error: unknown) => {
                  settled();
                  reject(error);
                },
              );
            })
          : gone(),
      destroy: () => destroy(own),
      isReplyError,
    };
  };
}

/** A failed connect's error, its message ending with what node-redis said last meanwhile. */
function withLastError(error: unknown, last: unknown): unknown {
  if (last === undefined || !(error instanceof Error)) return error;
  // No `cause`: pino's serializer would print the first message twice.
  const lastText = last instanceof Error ? last.message : String(last);
  const told = new Error(`${error.message}; the last error meanwhile: ${lastText}`);
  return Object.assign(told, { name: error.name });
}

// The message node-redis's discovery loop retries on without printing the error (console.log).
const GIVEN_UP = 'no valid master node';

/**
 * The socket options of the Sentinel's master clients. node-redis retries a master connect until it
 * answers, and the Sentinel's destroy waits for that connect: a master that crashed or stopped before
 * Sentinel called it down held every destroy, and each attempt after that built and leaked a new
 * Sentinel object. Read when node-redis creates a client, they tie its sockets and retries to the
 * connection of ours it serves: its abort destroys them (a hung handshake too) and stops the retries.
 */
function nodeSocket(signalNow: () => AbortSignal) {
  return {
    connectTimeout: 2_000,
    get signal() {
      return signalNow();
    },
    get reconnectStrategy() {
      const signal = signalNow();
      return (retries: number) => (signal.aborted ? new Error(GIVEN_UP) : Math.min(50 * 2 ** retries, 2_000));
    },
  };
}
