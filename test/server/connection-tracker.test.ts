import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { trackConnections } from '../../src/server/connection-tracker.js';
import { openRaw } from '../helpers/raw-connection.js';

const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

describe('trackConnections', () => {
  let server: http.Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
  });

  it('closes silent and idle kept-alive sockets, and leaves a request in flight to finish', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    server = http.createServer((req, res) => {
      if (req.url === '/slow') void held.then(() => res.end('done'));
      else res.end('ok');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const tracker = trackConnections(server);

    const silent = await openRaw(port);
    const idle = await openRaw(port);
    idle.write(request('/fast'));
    const busy = await openRaw(port);
    busy.write(request('/slow'));
    // A request whose headers have not all arrived has nothing in flight yet.
    const partial = await openRaw(port);
    partial.write('GET /fast HTTP/1.1\r\nHost: 127');
    await expect.poll(() => idle.received()).toContain('ok');
    await new Promise((resolve) => setTimeout(resolve, 50));

    tracker.closeIdle();
    await Promise.all([silent.closed, idle.closed, partial.closed]);
    expect(busy.isClosed()).toBe(false);
    release();
    await expect.poll(() => busy.received()).toContain('done');
    expect(busy.isClosed()).toBe(false);
    // Once its response is done, the kept-alive socket is idle too.
    tracker.closeIdle();
    await busy.closed;
  });
});
