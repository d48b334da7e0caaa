import { describe, expect, it } from 'vitest';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { readFixture } from '../helpers/fixtures.js';
import { openRaw } from '../helpers/raw-connection.js';
import { buildTestApp } from '../helpers/test-app.js';

const LIMIT = 64 * 1024;
const sample = readFixture('samples/valid/093-latest-terminal-shell-in-container.json');
// How libcurl (Falco, curl) asks before sending a large body: Expect: 100-continue, then it waits.
const expectingHead = (port: number, length: number) =>
  `POST /alerts HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
  `Content-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`;

async function serve(env: Record<string, string> = {}) {
  const built = buildTestApp({ env: { BODY_LIMIT_BYTES: String(LIMIT), ...env } });
  const server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
  return { port: boundPort(server), close: () => new Promise((resolve) => server.close(resolve)) };
}

// Regression: Node answered every Expect: 100-continue with 100 before any route ran, inviting the
// body of an ingest it then refused unread (README: 413 "not read further", 503 "its body unread").
describe('Expect: 100-continue', () => {
  it('answers an oversized ingest with 413 alone, never inviting its body', async () => {
    const { port, close } = await serve();
    const connection = await openRaw(port);
    connection.write(expectingHead(port, LIMIT + 1));
    await connection.closed;

    expect(connection.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(connection.received()).not.toContain('100 Continue');
    await close();
  });

  it('answers ingest shed for INGEST_MAX_INFLIGHT_PER_ADDRESS with 503 alone, never inviting its body', async () => {
    const { port, close } = await serve({ INGEST_MAX_INFLIGHT_PER_ADDRESS: '1' });
    const first = await openRaw(port);
    first.write(expectingHead(port, Buffer.byteLength(sample)));
    // Invited and still sending: it holds the address's one slot.
    await expect.poll(() => first.received()).toContain('100 Continue');
    const second = await openRaw(port);
    second.write(expectingHead(port, Buffer.byteLength(sample)));
    await second.closed;

    expect(second.received()).toMatch(/^HTTP\/1\.1 503 /);
    expect(second.received()).not.toContain('100 Continue');
    first.socket.destroy();
    await close();
  });

  // The body a route reads still gets its 100 Continue first: test/http/fast-ingest.test.ts.
  it('answers ingest without the path secret with 401 alone, never inviting its body', async () => {
    const { port, close } = await serve({ INGEST_PATH_SECRET: 'abcdefghijklmnop1234' });
    const connection = await openRaw(port);
    connection.write(expectingHead(port, Buffer.byteLength(sample)));
    await connection.closed;

    expect(connection.received()).toMatch(/^HTTP\/1\.1 401 /);
    expect(connection.received()).not.toContain('100 Continue');
    await close();
  });
});

// Regression: an Expect other than 100-continue got Node's own bare 417 (no problem+json, no
// header named, counted nowhere), so an alert posted with one was lost unseen.
describe('Expect other than 100-continue', () => {
  it.each([
    ['an alert POST', 'POST /alerts', 'Content-Type: application/json\r\n'],
    ['a read', 'GET /alerts', ''],
  ])('answers %s with 417 problem+json naming Expect, counted, and closes', async (_, line, extra) => {
    const built = buildTestApp({ env: { BODY_LIMIT_BYTES: String(LIMIT) } });
    const refused: string[] = [];
    const server = await startServer(built.app, {
      host: '127.0.0.1',
      port: 0,
      onClientError: (reason) => refused.push(reason),
    });
    const port = boundPort(server);
    const connection = await openRaw(port);
    connection.write(
      `${line} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}Expect: 200-ok\r\n` +
        `Content-Length: ${Buffer.byteLength(sample)}\r\n\r\n${sample}`,
    );
    await connection.closed;

    const response = connection.received();
    expect(response).toMatch(/^HTTP\/1\.1 417 /);
    expect(response).toMatch(/content-type: application\/problem\+json/i);
    expect(response).toMatch(/connection: close/i);
    expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))).toMatchObject({
      status: 417,
      header: 'Expect',
    });
    expect(refused).toEqual(['malformed']);
    await new Promise((resolve) => server.close(resolve));
  });
});

// Regression (review): the 417 closes the connection, but the requests pipelined behind it were
// still routed: an alert sent after it was stored and its 202 never written, so its sender could
// not tell it from a lost one (and a resend stored it twice). RFC 9112, section 9.6: a server that
// answers "close" processes no further request of the connection. The same for requireHost's 400.
describe('requests pipelined behind an answer that closes the connection', () => {
  it.each([
    ['a 417 for Expect', '417', (host: string) => `${host}Expect: 200-ok\r\n`],
    ['a 400 for a missing Host', '400', () => ''],
  ])('answers those ahead of %s, and routes none of those behind it', async (_, status, head) => {
    const built = buildTestApp({ env: { BODY_LIMIT_BYTES: String(LIMIT) } });
    const server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    const port = boundPort(server);
    const host = `Host: 127.0.0.1:${port}\r\n`;
    const post = (headers: string) =>
      `POST /alerts HTTP/1.1\r\n${headers}Content-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(sample)}\r\n\r\n${sample}`;
    const connection = await openRaw(port);
    connection.write(post(host) + post(head(host)) + post(host));
    await connection.closed;

    const statuses = [...connection.received().matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => m[1]);
    expect(statuses).toEqual(['202', status]);
    // The one answered 202 is stored; the one behind the refusal is not (its sender sends it again).
    expect(await built.store.count()).toBe(1);
    await new Promise((resolve) => server.close(resolve));
  });
});
