import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { writePaced } from '../../src/http/write-paced.js';

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

const TEXTS = 10_000;
const TEXT = 'x'.repeat(1023) + '\n';

describe('writePaced', () => {
  it('makes no more texts than a client that stops reading takes, and none once it has left', async () => {
    let made = 0;
    let outcome: Promise<boolean> | undefined;
    function* texts() {
      for (; made < TEXTS; made++) yield TEXT;
    }
    server = http.createServer((_req, res) => {
      outcome = writePaced(res, texts());
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    socket.pause();

    // Settled: the socket buffers are full and the writer waits.
    let seen = -1;
    await expect
      .poll(
        async () => {
          const before = made;
          await new Promise((resolve) => setTimeout(resolve, 100));
          seen = made;
          return made > 0 && made === before;
        },
        { timeout: 10_000 },
      )
      .toBe(true);
    expect(seen).toBeLessThan(TEXTS);
    socket.destroy();

    expect(await outcome).toBe(false);
    expect(made).toBe(seen);
  });

  // Regression (review): a text was written whole, so a 1.8 MB alert was one buffer of its size
  // for each answer (GET /alerts/{id}), however slowly its client read.
  it('writes a text longer than a piece a piece at a time, without parting a surrogate pair', async () => {
    // U+1F600 is two UTF-16 units: the first is the last unit of a 64 KiB piece.
    const text = `${'a'.repeat(64 * 1024 - 1)}\u{1F600}${'b'.repeat(300_000)}`;
    const writes: number[] = [];
    server = http.createServer((_req, res) => {
      const write = res.write.bind(res) as (chunk: string) => boolean;
      res.write = ((chunk: string) => {
        writes.push(chunk.length);
        return write(chunk);
      }) as typeof res.write;
      void writePaced(res, [text]).then((ok) => ok && res.end());
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));

    const received = await (
      await fetch(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`)
    ).text();

    expect(received).toBe(text);
    expect(Math.max(...writes)).toBeLessThanOrEqual(64 * 1024);
    expect(writes.length).toBeGreaterThan(4);
  });

  it('writes every text, in order, to a client that reads', async () => {
    server = http.createServer((_req, res) => {
      void writePaced(
        res,
        Array.from({ length: 3000 }, (_, index) => `${index}\n`),
      ).then((ok) => ok && res.end());
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));

    const text = await (
      await fetch(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`)
    ).text();

    expect(text).toBe(Array.from({ length: 3000 }, (_, index) => `${index}\n`).join(''));
  });
});
