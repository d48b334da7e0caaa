import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/**
 * The raw TCP socket a server-side TLSSocket wraps: Node's undocumented `_parent`, undefined should
 * that ever go. Node emits only the TLSSocket with 'tlsClientError' and 'secureConnection', and
 * only the raw one with 'connection'.
 */
export function rawSocketOf(tlsSocket: TLSSocket): Socket | undefined {
  return (tlsSocket as unknown as { _parent?: Socket | null })._parent ?? undefined;
}
