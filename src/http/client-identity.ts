import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/** Who sent a request, as proven by a verified TLS client certificate. */
export interface ClientIdentity {
  /** The certificate subject's common name. */
  cn: string;
}

/** The verified client certificate's CN, or undefined on plain HTTP or without a verified certificate. */
export function readClientIdentity(socket: Socket): ClientIdentity | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  // A subject with several CN attributes comes back as an array.
  const first: unknown = Array.isArray(cn) ? cn[0] : cn;
  return typeof first === 'string' ? { cn: first } : undefined;
}

/** True when the request came over TLS with a client certificate that the server verified. */
export function hasVerifiedClientCert(socket: Socket): boolean {
  return socket instanceof TLSSocket && socket.authorized;
}
