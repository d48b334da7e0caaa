/** True when an IPC message between the cluster primary and a worker is of `type` (our messages carry one). */
export function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}
