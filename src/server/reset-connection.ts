import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { rawSocketOf } from './raw-socket.js';

// node:net's handle of a socket (undocumented): its libuv handle, null once let go.
type Handle = { close(callback: () => void): void };

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
  // Without its handle (let go once both sides ended) there is nothing to reset, and resetAndDestroy
  // raised an 'error' no one heard (ERR_SOCKET_CLOSED), which killed the process.
  const handle = tcp && (tcp as unknown as { _handle?: Handle | null })._handle;
  if (tcp && handle) resetHandle(tcp, handle);
  socket.destroy();
}

// libuv refuses to reset a handle whose shutdown is pending (uv_tcp_close_reset: UV_EINVAL; on
// TLS_PORT a close_notify queued behind a send buffer its client does not read). Node's
// Socket._destroy then emits an 'error' (syscall 'reset') within the call, unheard an uncaught
// exception that killed the process, and lets the handle go unclosed: its descriptor leaked and
// its 'close' never came, so no cap gave its place back. Heard here alone (node:http would take it
// for a client's error), and the handle closed as a plain destroy closes it: a FIN behind what the
// kernel holds, all that is left.
function resetHandle(tcp: Socket, handle: Handle): void {
  const others = tcp.rawListeners('error') as Array<(error: Error) => void>;
  let refused = false;
  const hear = (error: NodeJS.ErrnoException) => (refused ||= error.syscall === 'reset');
  tcp.removeAllListeners('error').on('error', hear);
  try {
    tcp.resetAndDestroy();
  } catch {
    // A handle other than TCP's (a pipe): closed as before.
  } finally {
    tcp.off('error', hear);
    for (const listener of others) tcp.on('error', listener);
  }
  if (refused) handle.close(() => tcp.emit('close', false));
}
