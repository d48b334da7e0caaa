import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/** Who sent a request, as proven by a verified TLS client certificate. */
export interface ClientIdentity {
  /** The certificate subject's common name. */
  cn: string;
}

// The identity of each verified connection, read once at its handshake (rememberClientIdentity):
// an alert is ingested in a later turn than its body arrived, and a connection closed meanwhile has
// no handle left, its getPeerCertificate() null; read then, the turn threw and the alert was lost
// (found by review). Null: verified, with no CN.
const identities = new WeakMap<TLSSocket, ClientIdentity | null>();

function identityOf(socket: TLSSocket): ClientIdentity | null {
  const cn = socket.getPeerCertificate()?.subject?.CN;
  // A subject with several CN attributes comes back as an array.
  const first: unknown = Array.isArray(cn) ? cn[0] : cn;
  return typeof first === 'string' ? { cn: first } : null;
}

/** Reads a connection's identity as its handshake ends (the TLS listener's 'secureConnection'). */
export function rememberClientIdentity(socket: TLSSocket): void {
  if (socket.authorized) identities.set(socket, identityOf(socket));
}

/** The verified client certificate's CN, or undefined on plain HTTP or without a verified certificate. */
export function readClientIdentity(socket: Socket): ClientIdentity | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  let identity = identities.get(socket);
  if (identity === undefined) identities.set(socket, (identity = identityOf(socket)));
  return identity ?? undefined;
}

/** True when the request came over TLS with a client certificate that the server verified. */
export function hasVerifiedClientCert(socket: Socket): boolean {
  return socket instanceof TLSSocket && socket.authorized;
}
