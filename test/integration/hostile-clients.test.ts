import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRaw, trickleUntilClosed } from '../helpers/raw-connection.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const ALERT = readFileSync(
  join(import.meta.dirname, '../fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json'),
  'utf8',
);
const LIMITS = {
  headersTimeoutMs: 500,
  requestTimeoutMs: 1000,
  keepAliveTimeoutMs: 1000,
  stallTimeoutMs: 30_000,
  maxRequestsPerSocket: 3,
  maxHeaderBytes: 4096,
  maxConnections: 10_000,
  maxConnectionsPerAddress: 64,
};
const BODY_LIMIT = 64 * 1024;

const postHead = (extra: string) =>
  `POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${extra}\r\n`;
const fullPost = (connection = 'keep-alive') =>
  postHead(`Connection: ${connection}\r\nContent-Length: ${Buffer.byteLength(ALERT)}\r\n`) + ALERT;
const statusLines = (text: string) => text.match(/HTTP\/1\.1 \d{3}/g) ?? [];
const clientErrors = (metrics: string, reason: string) =>
  Number(
    new RegExp(`falco_http_client_errors_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? NaN,
  );
const problemIn = (response: string): unknown => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));

describe('hostile clients on raw sockets', () => {
  let receiver: TestReceiver;
  beforeAll(async () => {
    receiver = await startReceiver({ limits: LIMITS, bodyLimitBytes: BODY_LIMIT });
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('answers 408 and closes a connection whose headers trickle in forever (slowloris)', async () => {
    const before = clientErrors(await receiver.metricsText(), 'timeout');
    const connection = await openRaw(receiver.port);
    connection.write('POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    let header = 0;
    const writes = await trickleUntilClosed(connection, () => `X-Slow-${header++}: a\r\n`, 50);

    expect(connection.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(problemIn(connection.received())).toMatchObject({ status: 408 });
    expect(clientErrors(await receiver.metricsText(), 'timeout')).toBe(before + 1);
    expect(writes).toBeGreaterThan(0);
  });

  it('answers 408 and closes a connection whose body trickles in slower than the request timeout; its request counted once, as incomplete_body', async () => {
    const incomplete = async () =>
      Number(
        /falco_alerts_rejected_total\{reason="incomplete_body"\} (\d+)/.exec(
          await receiver.metricsText(),
        )?.[1] ?? 0,
      );
    const before = await incomplete();
    const connection = await openRaw(receiver.port);
    connection.write(postHead('Content-Length: 1000\r\n'));
    await trickleUntilClosed(connection, () => ' ', 50);

    expect(connection.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(receiver.logLines.filter((line) => line.event === 'falco_alert')).toEqual([]);
    // Counted as the server closes its side, which lingers after the answer (linger-close.ts).
    await expect.poll(incomplete).toBe(before + 1);
  });

  it('counts a body cut short once, as incomplete_body, and times it as a 400', async () => {
    const count = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
    const incomplete = /falco_alerts_rejected_total\{reason="incomplete_body"\} (\d+)/;
    const malformed = /falco_http_client_errors_total\{reason="malformed"\} (\d+)/;
    const timed400 =
      /http_request_duration_seconds_count\{method="POST",route="\/alerts",status="400"\} (\d+)/;
    const timed200 =
      /http_request_duration_seconds_count\{method="POST",route="\/alerts",status="200"\} (\d+)/;
    const before = await receiver.metricsText();
    const connection = await openRaw(receiver.port);
    connection.write(postHead('Content-Length: 50\r\n') + '{"rule":');
    await new Promise((resolve) => setTimeout(resolve, 100));
    connection.socket.end();
    await connection.closed;

    await expect
      .poll(async () => count(await receiver.metricsText(), incomplete) - count(before, incomplete))
      .toBe(1);
    const after = await receiver.metricsText();
    expect(count(after, malformed) - count(before, malformed)).toBe(0);
    expect(count(after, timed400) - count(before, timed400)).toBe(1);
    expect(count(after, timed200) - count(before, timed200)).toBe(0);
  });

  it('counts a malformed request that follows a good one on a kept-alive connection', async () => {
    const before = clientErrors(await receiver.metricsText(), 'malformed');
    const connection = await openRaw(receiver.port);
    connection.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await expect.poll(() => connection.received()).toMatch(/^HTTP\/1\.1 200/);
    connection.write('FOO /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await connection.closed;

    expect(connection.received()).toMatch(/HTTP\/1\.1 400 Bad Request\r\n/);
    expect(clientErrors(await receiver.metricsText(), 'malformed')).toBe(before + 1);
  });

  it('closes its side of a refused connection even when the client never closes its own', async () => {
    // Node's default timeouts (minutes): only the answer itself can close the connection in time.
    const plain = await startReceiver({});
    const connections = () =>
      new Promise<number>((resolve, reject) =>
        plain.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      );
    const before = await connections();
    const socket = net.connect({ host: '127.0.0.1', port: plain.port, allowHalfOpen: true });
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('FOO /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('end', resolve));

    // The client still holds its side open; the server must not keep the connection for it past
    // the lingering close's bound (LINGER_MS, 2 s), with room for a loaded machine's lag.
    await expect.poll(connections, { timeout: 5_000 }).toBe(before);
    socket.destroy();
    await plain.close();
  });

  it('answers 431 problem+json to headers larger than the header cap, and counts it', async () => {
    const before = clientErrors(await receiver.metricsText(), 'header_too_large');
    const connection = await openRaw(receiver.port);
    connection.write(postHead(`X-Big: ${'a'.repeat(8192)}\r\nContent-Length: 2\r\n`) + '{}');
    await connection.closed;

    expect(connection.received()).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(connection.received()).toContain('Content-Type: application/problem+json');
    expect(problemIn(connection.received())).toMatchObject({
      status: 431,
      detail: expect.stringMatching(/SERVER_MAX_HEADER_BYTES/),
    });
    expect(clientErrors(await receiver.metricsText(), 'header_too_large')).toBe(before + 1);
  });

  it('answers 431 to a filter value longer than the header cap: the request line bounds it', async () => {
    const before = clientErrors(await receiver.metricsText(), 'header_too_large');
    const connection = await openRaw(receiver.port);
    connection.write(
      `GET /alerts?rule=${'r'.repeat(LIMITS.maxHeaderBytes)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    );
    await connection.closed;

    expect(connection.received()).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(clientErrors(await receiver.metricsText(), 'header_too_large')).toBe(before + 1);
  });

  it.each([
    ['an unknown method', 'FOO /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
    ['a malformed request line', 'GET /alerts HTTP/9\r\n\r\n'],
    ['a header without a colon', 'GET /alerts HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n'],
    // Node's own check answered these with a bare 400, uncounted.
    ['a GET without a Host header', 'GET /alerts HTTP/1.1\r\n\r\n'],
    [
      'an alert POST without a Host header',
      `POST /alerts HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(ALERT)}\r\n\r\n${ALERT}`,
    ],
  ])('answers %s with 400 problem+json and counts it', async (_, request) => {
    const before = clientErrors(await receiver.metricsText(), 'malformed');
    const connection = await openRaw(receiver.port);
    connection.write(request);
    await connection.closed;

    expect(connection.received()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(problemIn(connection.received())).toMatchObject({
      status: 400,
      title: 'The request is not valid',
    });
    expect(clientErrors(await receiver.metricsText(), 'malformed')).toBe(before + 1);
  });

  it('answers CONNECT with 405 problem+json and counts it, instead of dropping the connection', async () => {
    const before = clientErrors(await receiver.metricsText(), 'malformed');
    const connection = await openRaw(receiver.port);
    connection.write('CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n');
    await connection.closed;

    expect(connection.received()).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(problemIn(connection.received())).toMatchObject({ status: 405 });
    expect(clientErrors(await receiver.metricsText(), 'malformed')).toBe(before + 1);
    expect(receiver.logLines.filter((line) => line.event === 'falco_alert')).toEqual([]);
  });

  it('answers 413 to a chunked body over the cap and closes without reading the rest', async () => {
    const connection = await openRaw(receiver.port);
    connection.write(postHead('Transfer-Encoding: chunked\r\n'));
    const chunk = 'a'.repeat(8192);
    const total = 2000; // 16 MiB offered, 250 times the cap
    let sent = 0;
    while (sent < total && connection.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) {
      sent += 1;
      await new Promise((resolve) => setImmediate(resolve));
      if (connection.socket.writableNeedDrain) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await connection.closed;

    const response = connection.received();
    expect(response).toMatch(/^HTTP\/1\.1 413/);
    expect(response).toMatch(/connection: close/i);
    expect(response).toContain('"payload-too-large"'.slice(1, -1));
    expect(sent).toBeLessThan(total);
  });

  it('answers 413 at once to a declared Content-Length over the cap, before any body byte is sent', async () => {
    const connection = await openRaw(receiver.port);
    connection.write(postHead(`Content-Length: ${BODY_LIMIT + 1}\r\n`));
    await connection.closed;

    expect(connection.received()).toMatch(/^HTTP\/1\.1 413/);
    expect(await receiver.metricsText()).toMatch(
      /falco_alerts_rejected_total\{reason="payload_too_large"\} 2/,
    );
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const connection = await openRaw(receiver.port);
    connection.write(fullPost());
    await connection.closed;

    expect(statusLines(connection.received())).toEqual(['HTTP/1.1 202']);
    expect(connection.received()).toMatch(/keep-alive: timeout=1/i);
  });

  it('serves at most SERVER_MAX_REQUESTS_PER_SOCKET requests on one connection, then closes it', async () => {
    const connection = await openRaw(receiver.port);
    for (let request = 0; request < 3; request += 1) {
      const before = statusLines(connection.received()).length;
      connection.write(fullPost());
      while (statusLines(connection.received()).length === before && !connection.isClosed()) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    await connection.closed;

    const responses = connection.received().split(/(?=HTTP\/1\.1 )/);
    expect(responses.map((response) => response.slice(0, 12))).toEqual([
      'HTTP/1.1 202',
      'HTTP/1.1 202',
      'HTTP/1.1 202',
    ]);
    expect(responses[0]).toMatch(/connection: keep-alive/i);
    expect(responses[2]).toMatch(/connection: close/i);
  });
});
