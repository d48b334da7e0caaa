import cluster, { type Worker } from 'node:cluster';

/** True when an IPC message between the cluster primary and a worker is of `type` (our messages carry one). */
export function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

/**
 * Primary side: calls `handle` with each message of `type` from a worker that has not exited. A
 * message node:cluster delivers after its worker's 'exit' is dropped: the 'exit' handlers that
 * forget a worker have run, so whatever a handler stored for it then would stay for good.
 */
export function onWorkerMessage<T extends { type: string }>(
  type: T['type'],
  handle: (worker: Worker, message: T) => void,
): void {
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (isMessage<T>(message, type) && !worker.isDead()) handle(worker, message);
  });
}
