import net from 'node:net';

/** A raw TCP connection to the server: what it sent back, and whether it closed the socket. */
export interface RawConnection {
  socket: net.Socket;
  /** Everything received so far, as latin1 text. */
  received: () => string;
  /** Resolves when the socket is closed (by either side or an error). */
  closed: Promise<void>;
  isClosed: () => boolean;
  /** Writes as long as the socket is open; false once it is closed. */
  write: (data: string | Buffer) => boolean;
}

/**
 * `localAddress` (another 127.x address) makes the server see a second client on loopback;
 * `allowHalfOpen` keeps the client's side open after the server's FIN.
 */
export async function openRaw(
  port: number,
  localAddress?: string,
  allowHalfOpen = false,
): Promise<RawConnection> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  let isClosed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  // Writes after the server closed fail with EPIPE/ECONNRESET: expected here, not a test error.
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  return {
    socket,
    received: () => text,
    closed,
    isClosed: () => isClosed,
    write: (data) => {
      if (isClosed || socket.destroyed || socket.writableEnded) return false;
      socket.write(data);
      return true;
    },
  };
}

/**
 * A connection lingering after its answer (src/server/linger-close.ts): a request no route serves,
 * declaring 4 MB of body and sending 3 bytes of it, answered 404; its client keeps its side open
 * after the server's FIN, so the server reads and drops what comes until LINGER_MS pass. Resolves
 * once the answer and the FIN have come.
 */
export async function openLingering(
  port: number,
  localAddress?: string,
  request = 'POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    'Content-Length: 4194304\r\n\r\nabc',
): Promise<RawConnection> {
  const connection = await openRaw(port, localAddress, true);
  const answered = new Promise((resolve) => connection.socket.once('end', resolve));
  connection.write(request);
  await answered;
  return connection;
}

/** Writes `piece()` every `everyMs` until the server closes the connection. */
export async function trickleUntilClosed(
  connection: RawConnection,
  piece: () => string,
  everyMs: number,
): Promise<number> {
  let writes = 0;
  while (!connection.isClosed()) {
    if (connection.write(piece())) writes += 1;
    await Promise.race([connection.closed, new Promise((resolve) => setTimeout(resolve, everyMs))]);
  }
  return writes;
}
