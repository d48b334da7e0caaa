import type { Logger } from 'pino';
import type { AlertFeed } from '../alerts/alert-feed.js';
import { viewHeldAlert } from '../alerts/held-alert.js';
import { createPageSizer } from './page-size.js';
import { decodeAlertEntry, streamPosition, type RedisKeys } from './redis-alert-entry.js';
import type { RedisConnection } from './redis-connection.js';

export interface AlertReaderOptions {
  /** A connection of its own: a blocking read holds it. */
  connection: RedisConnection;
  keys: RedisKeys;
  feed: AlertFeed;
  logger: Logger;
  /** How long one XREAD blocks; the link's own deadline is this plus its command timeout. */
  blockMs?: number;
  commandTimeoutMs?: number;
}

/**
 * Feeds this process's live listeners (SSE clients, trigger verification) from the shared stream,
 * so every replica sees every alert, its own included, in stream order. Starts at the moment the
 * process started and, after an outage, resumes where it stopped.
 */
export function startAlertReader(options: AlertReaderOptions): { stop(): void } {
  const { connection: conn, keys, feed, logger } = options;
  const blockMs = options.blockMs ?? 2_000;
  const deadlineMs = blockMs + (options.commandTimeoutMs ?? 2_000);
  // From this process's start (stream ids begin with Redis's clock in ms): alerts this process
  // queued while Redis was still unreachable at start reach its listeners once written.
  let lastId = `${Date.now()}-0`;
  let stopped = false;
  // Few entries a read while the recent alerts are large, up to 500 while they are small.
  const sizer = createPageSizer();
  let wake: (() => void) | undefined;
  conn.onUp(() => wake?.());

  async function untilUp(): Promise<void> {
    if (conn.isUp() || stopped) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, 1_000).unref();
    });
  }

  async function step(): Promise<void> {
    const count = String(sizer.next());
    const args = ['XREAD', 'COUNT', count, 'BLOCK', String(blockMs), 'STREAMS', keys.alerts, lastId];
    const reply = (await conn.send(args, deadlineMs)) as Array<[string, unknown[]]> | null;
    const sizes: number[] = [];
    for (const raw of reply?.[0]?.[1] ?? []) {
      const { streamId, held } = decodeAlertEntry(raw);
      lastId = streamId;
      sizes.push(held.bytes);
      // With its position: a stream replay drops what it read already (this reader runs behind it).
      feed.publish(viewHeldAlert(held), streamPosition(streamId));
    }
    sizer.saw(sizes);
  }

  void (async () => {
    while (!stopped) {
      await untilUp();
      if (stopped || !conn.isUp()) continue;
      await step().catch(async (error: unknown) => {
        logger.debug({ event: 'store_read_failed', err: error }, 'live read from the shared store failed');
        await new Promise((resolve) => setTimeout(resolve, 200).unref());
      });
    }
  })();
  return {
    stop() {
      stopped = true;
      wake?.();
    },
  };
}
