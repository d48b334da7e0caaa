import type * as Redis from 'redis';
import type { RedisStoreConfig } from '../config/store-env.js';
import { connectWithin } from './connect-within.js';
import { sentinelLinks } from './redis-sentinel-links.js';
import { urlCredentials } from './store-credentials.js';

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
  // With STORE_PASSWORD_FILE the password is read at each connect (store-credentials.ts).
  const credentials = urlCredentials(url, config);
  const client = createClient({
    url: credentials.url,
    ...(credentials.credentialsProvider
      ? { credentialsProvider: credentials.credentialsProvider }
      : { password: config.password }),
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
