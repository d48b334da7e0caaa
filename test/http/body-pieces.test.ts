import { afterEach, describe, expect, it } from 'vitest';
import { openRaw } from '../helpers/raw-connection.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const KiB = 1024;
const BODY_LIMIT = 64 * KiB;

const alertOf = (size: number) =>
  JSON.stringify({
    rule: 'Chunked',
    priority: 'Notice',
    time: '2026-12-07T09:00:00.000000000Z',
    output: 'x'.repeat(size),
  });

// A chunked POST /alerts whose body is cut into chunks of `pieceBytes`.
function chunkedPost(body: string, pieceBytes: number): string {
  let chunks = '';
  for (let at = 0; at < body.length; at += pieceBytes) {
    const piece = body.slice(at, at + pieceBytes);
    chunks += `${piece.length.toString(16)}\r\n${piece}\r\n`;
  }
  return (
    'POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    `Transfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`
  );
}

async function send(port: number, request: string): Promise<string> {
  const connection = await openRaw(port);
  connection.write(request);
  await Promise.race([
    connection.closed,
    expect.poll(() => /\r\n\r\n/.test(connection.received())).toBe(true),
  ]);
  connection.socket.destroy();
  return connection.received();
}

// Regression (probe of 2026-12-07): node:http hands each chunk of a chunked body over as a Buffer
// of its own, and the body reader kept every one until the end: a 1 MB alert sent as 1-byte chunks
// (6 MB on the wire, under BODY_LIMIT_BYTES) made a million Buffers, 3.4 s of CPU, and ran the
// image's 128 MiB heap out: the process died.
describe('a body sent in tiny chunks', () => {
  let receiver: TestReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
  });

  it('is refused with 413 once past 64 pieces averaging under 256 bytes, and read no further', async () => {
    receiver = await startReceiver({ keepLogLines: false, bodyLimitBytes: BODY_LIMIT });
    // 20 KB in 1-byte chunks: 20,000 pieces, where about 80 are allowed.
    const answer = await send(receiver.port, chunkedPost(alertOf(20 * KiB), 1));

    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/Connection: close/i);
    expect(answer).toContain('pieces');
    expect(await receiver.metricsText()).toMatch(
      /^falco_alerts_rejected_total\{reason="payload_too_large"\} 1$/m,
    );
  });

  it('is refused with 413 when sent with its length, a byte a read', async () => {
    receiver = await startReceiver({ keepLogLines: false, bodyLimitBytes: BODY_LIMIT });
    const body = alertOf(20 * KiB);
    const connection = await openRaw(receiver.port);
    connection.socket.setNoDelay(true);
    connection.write(
      'POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\n\r\n`,
    );
    // 200 bytes a byte at a time, 2 ms apart (a read each), then the rest at once.
    for (let at = 0; at < 200 && !connection.isClosed(); at++) {
      connection.write(body[at]!);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    connection.write(body.slice(200));
    await expect.poll(() => /\r\n\r\n/.test(connection.received())).toBe(true);

    expect(connection.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(connection.received()).toContain('pieces');
    await connection.closed;
    expect(await receiver.metricsText()).toMatch(
      /^falco_alerts_rejected_total\{reason="payload_too_large"\} 1$/m,
    );
  });

  it('stops counting once a body is refused at its cap, while the rest comes in tiny chunks', async () => {
    receiver = await startReceiver({ keepLogLines: false, bodyLimitBytes: BODY_LIMIT });
    const connection = await openRaw(receiver.port);
    const tiny = '1\r\nx\r\n'.repeat(20_000);
    connection.write(chunkedPost(alertOf(80 * KiB), 80 * KiB).replace(/0\r\n\r\n$/, '') + tiny);
    await expect.poll(() => connection.received()).toMatch(/^HTTP\/1\.1 413 /);
    connection.write(tiny);
    await connection.closed;

    expect((await fetch(`http://127.0.0.1:${receiver.port}/healthz`)).status).toBe(200);
  });

  it('takes the same alert in chunks of 1 KiB', async () => {
    receiver = await startReceiver({ keepLogLines: false, bodyLimitBytes: BODY_LIMIT });
    const answer = await send(receiver.port, chunkedPost(alertOf(20 * KiB), KiB));

    expect(answer).toMatch(/^HTTP\/1\.1 202 /);
  });
});
