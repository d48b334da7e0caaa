import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { isMessage } from './cluster-message.js';

const ALIVE = 'falco-receiver:alive';
/** How often a worker tells the primary that its event loop turns. */
export const HEARTBEAT_MS = 1_000;

/** Worker side: a message to the primary every HEARTBEAT_MS, sent from a timer, so only while the loop turns. */
export function sendHeartbeats(): void {
  setInterval(() => process.send?.({ type: ALIVE }), HEARTBEAT_MS).unref();
}

export interface WorkerWatchdog {
  /** Workers killed so far because their loop stopped turning. */
  killed(): number;
}

/**
 * Primary side: kills (SIGKILL) a worker from which no heartbeat came for `timeoutMs`, as
 * gunicorn's worker timeout does, so that the primary replaces it. A stuck worker takes no new
 * connection from node:cluster but the one being handed to it (closed once it is killed:
 * orphaned-handoffs.ts), and keeps its stream clients, its share of the alerts in flight
 * and its memory, and, with several workers, a probe rarely lands on it to fail. 0: never.
 */
export function watchWorkers(options: { timeoutMs: number; logger: Logger }): WorkerWatchdog {
  let killed = 0;
  if (options.timeoutMs <= 0) return { killed: () => 0 };
  // When each worker was last heard from. Watched from its first heartbeat: loading the code
  // before it holds the loop too (seconds from source through tsx), and is not a stuck loop.
  const heard = new Map<number, number>();
  const onMessage = (worker: Worker, message: unknown) => {
    if (isMessage<{ type: typeof ALIVE }>(message, ALIVE)) heard.set(worker.id, performance.now());
  };
  const onExit = (worker: Worker) => heard.delete(worker.id);
  cluster.on('message', onMessage);
  cluster.on('exit', onExit);
  let tickedAt = performance.now();
  // Each heartbeat's time: the config keeps timeoutMs at 3 heartbeats or more (cluster-env.ts).
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - tickedAt > options.timeoutMs / 2;
    tickedAt = now;
    // The primary itself did not run (the container paused, the node frozen): the workers'
    // heartbeats wait unread in the channel, and none of them is known to be stuck.
    if (late) {
      for (const id of heard.keys()) heard.set(id, now);
      return;
    }
    for (const [id, at] of heard) {
      if (now - at <= options.timeoutMs) continue;
      heard.delete(id);
      const worker = cluster.workers?.[id];
      if (!worker || worker.isDead()) continue;
      killed += 1;
      options.logger.error(
        {
          event: 'worker_unresponsive',
          worker: id,
          pid: worker.process.pid,
          silentMs: Math.round(now - at),
        },
        'worker event loop stuck: killed, to be replaced',
      );
      worker.process.kill('SIGKILL');
    }
  }, HEARTBEAT_MS);
  timer.unref();
  return { killed: () => killed };
}
