import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { rawSocketOf } from './raw-socket.js';

/**
 * Closes `socket` with a reset (RST), which drops what the kernel still holds to send it, instead
 * of a FIN queued behind those bytes. For a connection whose client does not read: closed with a
 * FIN, its socket stayed in FIN-WAIT-1 holding up to its send buffer (4 MiB, tcp_wmem) for as long
 * as the client's kernel acknowledged the window probes, outside every cap and budget, its
 * descriptor closed and its slot freed (600 MB from one address in 28 s). A client that read its
 * answers loses nothing; one that did not was going to lose them anyway.
 */
export function resetConnection(socket: Socket): void {
  if (socket.destroyed) return;
  // A TLS socket's handle is its TLS wrap, which resetAndDestroy refuses: the TCP connection's is reset.
  const tcp = socket instanceof TLSSocket ? rawSocketOf(socket) : socket;
  // Without its handle (node:net's, undocumented; let go once both sides ended) there is nothing to
  // reset, and resetAndDestroy raised an 'error' no one heard (ERR_SOCKET_CLOSED), which killed the process.
  if (tcp && (tcp as unknown as { _handle?: object | null })._handle) {
    try {
      tcp.resetAndDestroy();
    } catch {
      // A handle other than TCP's (a pipe): closed as before.
    }
  }
  socket.destroy();
}
