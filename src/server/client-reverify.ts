import type { Socket } from 'node:net';

// Connections whose client was verified under a client CA the TLS listener no longer has
// (tls-credentials.ts), and what ends the answer each one is holding open (a live stream).
const verifiedBefore = new WeakSet<Socket>();
const closers = new WeakMap<Socket, () => void>();

/**
 * Marks a connection whose client must be verified again (a change of the client CA since its
 * handshake): its next answer says `Connection: close`, and an answer it holds open is ended now.
 */
export function markForReverify(socket: Socket): void {
  verifiedBefore.add(socket);
  const close = closers.get(socket);
  closers.delete(socket);
  close?.();
}

/** Whether the connection's client was verified under a client CA taken out or replaced since. */
export function mustReverify(socket: Socket): boolean {
  return verifiedBefore.has(socket);
}

/**
 * For an answer that never ends by itself (a live stream): `close` runs once its connection must be
 * verified again, in a later turn if it must already. Returns what cancels it (the answer ended).
 */
export function closeOnReverify(socket: Socket, close: () => void): () => void {
  if (verifiedBefore.has(socket)) {
    const later = setImmediate(close);
    return () => clearImmediate(later);
  }
  closers.set(socket, close);
  return () => {
    if (closers.get(socket) === close) closers.delete(socket);
  };
}
