import type * as Redis from 'redis';
import type { RedisStoreConfig, RedisTarget } from '../config/store-env.js';
import { withDeadline } from './with-deadline.js';

/** One connection to the shared Redis (directly or through Sentinel), spoken to in raw commands. */
export interface RedisLink {
  /** Sends one command; the reply is RESP2 as node-redis gives it (strings, arrays, numbers, null). */
  send(args: string[]): Promise<unknown>;
  destroy(): Promise<void>;
  /** True for an error Redis answered with (a wrong command, a script error): the link stays healthy. */
  isReplyError(error: unknown): boolean;
}

/** Opens the links of one client name, one after another (a new one after each loss). */
export type RedisLinkOpener = () => Promise<RedisLink>;

// Commands fail at once while the socket is down (we queue alerts ourselves), and a connect that
// hangs gives up: the store's timeouts and backoff decide when to try again.
const SOCKET = { connectTimeout: 2_000, reconnectStrategy: false as const };

// A hung Redis accepts the TCP connection and never answers the handshake: give up and destroy.
const CONNECT_DEADLINE_MS = 3_000;

async function connectWithin(connecting: Promise<unknown>, destroy: () => void): Promise<void> {
  try {
    await withDeadline(connecting, CONNECT_DEADLINE_MS, 'redis handshake');
  } catch (error) {
    destroy();
    throw error;
  }
}

/**
 * The links of one name. `onError` receives connection errors (node-redis emits them as events; an
 * unhandled one would crash the process).
 */
export function createRedisLinkOpener(
  config: RedisStoreConfig,
  name: string,
  onError: (error: unknown) => void,
): RedisLinkOpener {
  // Loaded with the first link: a receiver without Redis (the default) never builds the client's
  // command tables and closures: 1.5 MB less live heap for every full collection to mark.
  let opener: Promise<RedisLinkOpener> | undefined;
  return async () => {
    opener ??= import('redis').then((redis) =>
      config.target.kind === 'url'
        ? urlLinks(redis, config, config.target.url, name, onError)
        : sentinelLinks(redis, config, config.target, name, onError),
    );
    return (await opener)();
  };
}

// One client for every link of the name, connected again after each loss. node-redis keeps the
// client class of one set of options only: a client per attempt rebuilt it for each of our two
// names in turn, 40-80 ms of blocked event loop per attempt while Redis refused connections.
function urlLinks(
  { createClient, ErrorReply }: typeof Redis,
  config: RedisStoreConfig,
  url: string,
  name: string,
  onError: (error: unknown) => void,
): RedisLinkOpener {
  const client = createClient({
    url,
    password: config.password,
    name,
    // A copy: node-redis writes the URL's host and port into it.
    socket: { ...SOCKET },
    disableOfflineQueue: true,
  });
  client.on('error', onError);
  const isReplyError = (error: unknown) => error instanceof ErrorReply;
  // Which connection is the client's now: a link destroys only its own.
  let current = 0;
  let connecting: Promise<unknown> = Promise.resolve();
  const destroy = (own: number) => {
    // node-redis refuses to destroy a socket that closed by itself (its queue already failed).
    if (own === current && client.isOpen) client.destroy();
  };
  return async () => {
    // A connect given up on (a hung handshake) ends first: one socket at a time.
    await connecting.catch(() => undefined);
    const own = ++current;
    connecting = client.connect();
    await connectWithin(connecting, () => destroy(own));
    return { send: (args) => client.sendCommand(args), destroy: async () => destroy(own), isReplyError };
  };
}

// One Sentinel object for every link of the name, connected again after each loss: createSentinel
// builds a class of every Redis and module command on each call (node-redis caches none for
// Sentinel), 40-110 ms of blocked event loop per attempt while the master was down or the sentinels
// unreachable; with our two links the loop was busy 9% of such an outage, now 1%.
function sentinelLinks(
  { createSentinel, ErrorReply }: typeof Redis,
  config: RedisStoreConfig,
  target: Extract<RedisTarget, { kind: 'sentinel' }>,
  name: string,
  onError: (error: unknown) => void,
): RedisLinkOpener {
  const create = () =>
    createSentinel({
      name: target.master,
      sentinelRootNodes: target.sentinels,
      nodeClientOptions: { password: config.password, name, socket: { connectTimeout: 2_000 } },
      sentinelClientOptions: { socket: { connectTimeout: 2_000 } },
      scanInterval: 1_000,
      passthroughClientErrorEvents: true,
    }).on('error', onError);
  let sentinel = create();
  const isReplyError = (error: unknown) => error instanceof ErrorReply;
  // Which connection is the Sentinel's now (0: none): a link destroys only its own.
  let live = 0;
  let opened = 0;
  // node-redis connects a Sentinel again only once its destroy has ended, and that waits for its
  // discovery loop to stop (at most about a second between two rounds).
  let ending: Promise<void> = Promise.resolve();
  const destroy = (own: number) => {
    if (own === live) {
      live = 0;
      ending = sentinel.destroy().catch(() => undefined);
    }
    return ending;
  };
  return async () => {
    try {
      // One socket at a time: the connect given up on ends first.
      await withDeadline(ending, CONNECT_DEADLINE_MS, 'redis sentinel teardown');
    } catch {
      // A master connect that hangs (a stopped server's handshake, or node-redis retrying an address
      // Sentinel has not called down yet) holds the destroy until it answers: that object may never
      // connect again, so a new one (its class built again) while the old one waits, its errors not ours.
      sentinel.removeAllListeners('error').on('error', () => undefined);
      sentinel = create();
    }
    const own = (live = ++opened);
    const mine = sentinel;
    await connectWithin(mine.connect(), () => void destroy(own));
    return {
      // A link that is gone does not wait for the next connection of the object.
      send: (args) =>
        own === live ? mine.sendCommand(false, args) : Promise.reject(new Error('redis link destroyed')),
      destroy: () => destroy(own),
      isReplyError,
    };
  };
}
