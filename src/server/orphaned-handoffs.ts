import type { Worker } from 'node:cluster';

/** node:cluster's internal messages, as far as they are read here (lib/internal/cluster). */
interface ClusterMessage {
  cmd?: unknown;
  act?: unknown;
  seq?: unknown;
  ack?: unknown;
}

/** The accepted connection's TCP handle that the primary passes a worker. */
interface PassedHandle {
  close(): void;
}

const isClusterMessage = (message: unknown): message is ClusterMessage =>
  typeof message === 'object' && message !== null && (message as ClusterMessage).cmd === 'NODE_CLUSTER';

/**
 * Primary side: closes the connections node:cluster was handing `worker` when it died. Its primary
 * accepts each connection and keeps it open until the worker it passes it to acknowledges it; a
 * worker killed before it did (a crash, the watchdog's SIGKILL of a stuck loop, which took the
 * connection while stuck) never does, and that client waited forever for the answer to an alert
 * nobody read (Falco's HTTP output with no timeout, all its later alerts behind it). Closed, it is
 * refused (a reset), as the dead worker's own connections are. Returns the worker.
 */
export function closeOrphanedHandoffs(worker: Worker): Worker {
  // By the sequence number of the message that passed each one, until the worker acknowledges it.
  const unacknowledged = new Map<number, PassedHandle>();
  const child = worker.process;
  const send = child.send.bind(child) as (...args: unknown[]) => boolean;
  child.send = ((message: unknown, handle?: unknown, ...rest: unknown[]) => {
    if (isClusterMessage(message) && message.act === 'newconn' && typeof message.seq === 'number' && handle)
      unacknowledged.set(message.seq, handle as PassedHandle);
    return send(message, handle, ...rest);
  }) as typeof child.send;
  // Acknowledged, the connection is the worker's (or, refused, node:cluster passes it on to another).
  child.on('internalMessage', (message: unknown) => {
    if (isClusterMessage(message) && typeof message.ack === 'number') unacknowledged.delete(message.ack);
  });
  worker.once('exit', () => {
    for (const handle of unacknowledged.values()) handle.close();
    unacknowledged.clear();
  });
  return worker;
}
