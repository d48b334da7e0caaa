import { openRaw } from './raw-connection.js';

/**
 * Posts every body to /alerts over one keep-alive connection, `batch` requests written at a time
 * (HTTP/1.1 pipelining): tens of thousands of alerts in seconds, without a client per request.
 * Resolves with how many answers had each status. Each pipelined request counts against
 * INGEST_MAX_INFLIGHT_PER_ADDRESS until answered: raise it above `batch`.
 */
export async function postPipelined(
  port: number,
  bodies: Iterable<string>,
  batch = 500,
): Promise<Record<number, number>> {
  const connection = await openRaw(port);
  const statuses: Record<number, number> = {};
  let pending: string[] = [];
  let seen = 0;
  const flush = async () => {
    const expected = pending.length;
    connection.write(pending.join(''));
    pending = [];
    // Read answers until this batch's are all in: each starts with a status line.
    let answered = 0;
    while (answered < expected) {
      if (connection.isClosed()) throw new Error(`connection closed after ${answered}/${expected} answers`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const text = connection.received();
      answered = (text.slice(seen).match(/HTTP\/1\.1 \d{3}/g) ?? []).length;
    }
    const text = connection.received();
    for (const [, status] of text.slice(seen).matchAll(/HTTP\/1\.1 (\d{3})/g))
      statuses[Number(status)] = (statuses[Number(status)] ?? 0) + 1;
    seen = text.length;
  };
  for (const body of bodies) {
    pending.push(
      `POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    if (pending.length >= batch) await flush();
  }
  if (pending.length > 0) await flush();
  connection.socket.destroy();
  return statuses;
}
