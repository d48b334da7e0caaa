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
