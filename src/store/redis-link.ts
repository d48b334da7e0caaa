import type { RedisStoreConfig } from '../config/store-env.js';
import { withDeadline } from './with-deadline.js';

/** One connection to the shared Redis (directly or through Sentinel), spoken to in raw commands. */
export interface RedisLink {
  /** Sends one command; the reply is RESP2 as node-redis gives it (strings, arrays, numbers, null). */
  send(args: string[]): Promise<unknown>;
  destroy(): Promise<void>;
  /** True for an error Redis answered with (a wrong command, a script error): the link stays healthy. */
  isReplyError(error: unknown): boolean;
}

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
 * Opens a link. `onError` receives connection errors (node-redis emits them as events; an
 * unhandled one would crash the process).
 */
export async function openRedisLink(
  config: RedisStoreConfig,
  name: string,
  onError: (error: unknown) => void,
): Promise<RedisLink> {
  // Loaded with the first link: a receiver without Redis (the default) never builds the client's
  // command tables and closures: 1.5 MB less live heap for every full collection to mark.
  const { createClient, createSentinel, ErrorReply } = await import('redis');
  const isReplyError = (error: unknown) => error instanceof ErrorReply;
  const { target } = config;
  if (target.kind === 'url') {
    const client = createClient({
      url: target.url,
      password: config.password,
      name,
      socket: SOCKET,
      disableOfflineQueue: true,
    });
    client.on('error', onError);
    await connectWithin(client.connect(), () => client.destroy());
    return { send: (args) => client.sendCommand(args), destroy: async () => client.destroy(), isReplyError };
  }
  const sentinel = createSentinel({
    name: target.master,
    sentinelRootNodes: target.sentinels,
    nodeClientOptions: { password: config.password, name, socket: { connectTimeout: 2_000 } },
    sentinelClientOptions: { socket: { connectTimeout: 2_000 } },
    scanInterval: 1_000,
    passthroughClientErrorEvents: true,
  });
  sentinel.on('error', onError);
  await connectWithin(sentinel.connect(), () => void sentinel.destroy().catch(() => undefined));
  return {
    send: (args) => sentinel.sendCommand(false, args),
    destroy: () => sentinel.destroy(),
    isReplyError,
  };
}
