import type { Logger } from 'pino';
import type { RedisStoreConfig } from '../config/store-env.js';
import { createRedisLinkOpener, type RedisLink } from './redis-link.js';
import { StoreUnavailableError } from './store-unavailable-error.js';
import { withDeadline } from './with-deadline.js';

/** Timings of a connection; tests shorten them. */
export interface ConnectionTimings {
  /** A command without a reply after this long counts as a hung Redis: the link is dropped. */
  commandTimeoutMs: number;
  /** First wait before reconnecting; doubles per failure up to `maxBackoffMs`. */
  minBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_TIMINGS: ConnectionTimings = {
  commandTimeoutMs: 2_000,
  minBackoffMs: 100,
  maxBackoffMs: 5_000,
};

/** Two of the longest reconnect waits: READONLY drops further apart start a new streak. */
const READ_ONLY_STREAK_MS = (timings: ConnectionTimings) => 2 * timings.maxBackoffMs;

// Redis's answer to a write on a replica (also as a script's error: "READONLY You can't write ...").
const isReadOnlyReply = (error: unknown) => error instanceof Error && error.message.startsWith('READONLY');

// Replies of a Redis that cannot serve now but keeps the link. Brief: LOADING (its data being
// loaded at a restart), UNBLOCKED (a blocked read ended by a failover). Lasting, maybe for good:
// BUSY (a script or module command past busy-reply-threshold; one that wrote cannot be killed),
// MASTERDOWN (a replica cut from its master), TRYAGAIN and CLUSTERDOWN, NOREPLICAS
// (min-replicas-to-write unmet). As plain reply errors every read answered 500 "internal error"
// while Redis was busy or loading, and the live reader called them refusals.
const BRIEF_REPLIES = ['LOADING', 'UNBLOCKED'];
const LASTING_REPLIES = ['BUSY', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN', 'NOREPLICAS'];

/** The code a Redis reply error starts with (WRONGTYPE, NOPERM, LOADING...), never the rest of its text. */
export const replyCode = (error: unknown): string | undefined =>
  error instanceof Error ? /^([A-Z]+) /.exec(error.message)?.[1] : undefined;

const isPassingReply = (error: unknown) => {
  const code = replyCode(error);
  return code !== undefined && (BRIEF_REPLIES.includes(code) || LASTING_REPLIES.includes(code));
};

/** True for a reply of a Redis that cannot serve now and may stay so (BUSY, MASTERDOWN and the like). */
export const isLastingReply = (error: unknown): boolean => LASTING_REPLIES.includes(replyCode(error) ?? '');

/**
 * A self-healing link: reconnects with backoff, and drops a link whose command hangs or that leads
 * to a replica (READONLY).
 */
export interface RedisConnection {
  /**
   * Sends a command; rejects with StoreUnavailableError when Redis is down, failing over, hung, or
   * answers that it cannot serve now (loading, busy: the link is kept then), else with its reply error.
   */
  send(args: string[], timeoutMs?: number): Promise<unknown>;
  isUp(): boolean;
  /** Resolves once the first attempt to connect has succeeded or failed (within the connect deadline). */
  tried(): Promise<void>;
  /** Called whenever the link comes up (again). */
  onUp(listener: () => void): void;
  close(): Promise<void>;
}

export interface ConnectionOptions {
  config: RedisStoreConfig;
  /** CLIENT SETNAME, to tell the receiver's links apart in Redis. */
  name: string;
  logger: Logger;
  timings?: ConnectionTimings;
}

export function createRedisConnection(options: ConnectionOptions): RedisConnection {
  const timings = options.timings ?? DEFAULT_TIMINGS;
  // The caller's logger already says component: store (create-alert-store.ts).
  const log = options.logger.child({ link: options.name });
  const upListeners: Array<() => void> = [];
  let link: RedisLink | undefined;
  let opening: Promise<void> | undefined;
  let failures = 0;
  // Links dropped in a row for READONLY (each within READ_ONLY_STREAK_MS of the last): the address
  // keeps leading to a replica, so each reopen waits as after as many failed connects.
  let readOnlyDrops = 0;
  let readOnlyAt = -Infinity;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const openLink = createRedisLinkOpener(options.config, options.name, (error) => {
    if (link) drop(error);
  });

  function drop(reason: unknown): void {
    const old = link;
    link = undefined;
    if (old) {
      log.warn({ event: 'store_down', err: reason }, 'shared store connection lost');
      void old.destroy().catch(() => undefined);
    }
    scheduleOpen();
  }

  function scheduleOpen(): void {
    if (closed || opening || retry || link) return;
    const waits = Math.max(failures, readOnlyDrops - 1);
    const delay = waits === 0 ? 0 : Math.min(timings.maxBackoffMs, timings.minBackoffMs * 2 ** (waits - 1));
    retry = setTimeout(() => {
      retry = undefined;
      void open();
    }, delay);
    retry.unref();
  }

  // Handles both outcomes: the promise it returns never rejects.
  function open(): Promise<void> {
    opening = openLink().then(
      (opened) => {
        opening = undefined;
        if (closed) return void opened.destroy();
        link = opened;
        failures = 0;
        log.info({ event: 'store_up' }, 'shared store connected');
        for (const listener of upListeners) listener();
      },
      (error: unknown) => {
        opening = undefined;
        failures += 1;
        if (failures === 1 || failures % 20 === 0)
          log.warn({ event: 'store_connect_failed', err: error, failures }, 'cannot reach the shared store');
        scheduleOpen();
      },
    );
    return opening;
  }

  const firstAttempt = open();
  return {
    async send(args, timeoutMs = timings.commandTimeoutMs) {
      const current = link;
      if (!current) throw new StoreUnavailableError();
      try {
        return await withDeadline(current.send(args), timeoutMs, args[0] ?? 'command');
      } catch (error) {
        // A reply error (a wrong command, a script error) leaves the link healthy; but READONLY
        // says the link leads to a replica (a master demoted behind the same Service or DNS name,
        // a managed Redis's failover): kept, every write failed on it until the process restarted.
        const readOnly = current.isReplyError(error) && isReadOnlyReply(error);
        const isReplyError = current.isReplyError(error) && !readOnly;
        if (isReplyError && isPassingReply(error)) throw new StoreUnavailableError(error);
        if (readOnly && link === current) {
          const now = performance.now();
          readOnlyDrops = now - readOnlyAt < READ_ONLY_STREAK_MS(timings) ? readOnlyDrops + 1 : 1;
          readOnlyAt = now;
        }
        if (!isReplyError && link === current) drop(error);
        throw isReplyError ? error : new StoreUnavailableError(error);
      }
    },
    isUp: () => link !== undefined,
    tried: () => firstAttempt,
    onUp(listener) {
      upListeners.push(listener);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      // A handshake in progress is not waited for (to a hung Redis it takes its whole deadline, past
      // the shutdown's): whenever it ends, open() sees `closed` and destroys what it opened.
      await link?.destroy().catch(() => undefined);
      link = undefined;
    },
  };
}
