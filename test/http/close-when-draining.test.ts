import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { readFixture } from '../helpers/fixtures.js';
import { openRaw } from '../helpers/raw-connection.js';
import { buildTestApp } from '../helpers/test-app.js';

const ALERT = readFixture('samples/valid/093-latest-terminal-shell-in-container.json').toString('utf8');

const waitFor = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

// Regression: on Express's path (a chunked alert, or any route but the fast path's plain alert
// POST) whether an answer closed its connection for a shutdown was decided when its request was
// routed. A request routed just before readiness turned off, answered after, kept its keep-alive
// connection: Falco 0.36+ sent its next alert on it, and the drain's idle sweep could close the
// connection with that alert unread, lost without an answer. The fast path decides at answer time.
describe('an answer written after a shutdown began, its request routed before', () => {
  let built: ReturnType<typeof buildTestApp>;
  let server: http.Server;
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    ['chunked (Express)', true],
    ['with a length (the fast path)', false],
  ])('an alert %s: 202 with Connection: close', async (_, chunked) => {
    built = buildTestApp({ env: {}, parentEnv: {} });
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    const connection = await openRaw(boundPort(server));
    const length = Buffer.byteLength(ALERT);
    const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
    const body = chunked ? `${length.toString(16)}\r\n${ALERT}\r\n0\r\n\r\n` : ALERT;
    const half = Math.floor(body.length / 2);
    connection.write(
      `POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${framing}\r\n\r\n` +
        body.slice(0, half),
    );
    // The request is routed with its headers; its body is still arriving when the shutdown begins.
    await new Promise((resolve) => setTimeout(resolve, 100));
    built.lifecycle.beginShutdown();
    connection.write(body.slice(half));
    await waitFor(() => /\r\n\r\n/.test(connection.received()));

    const answer = connection.received();
    expect(answer).toMatch(/^HTTP\/1\.1 202 /);
    expect(answer).toMatch(/^Connection: close\r$/im);
  });
});
