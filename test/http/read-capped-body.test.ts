import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { readFixture } from '../helpers/fixtures.js';
import { openRaw } from '../helpers/raw-connection.js';
import { buildTestApp } from '../helpers/test-app.js';

const TRIGGER_TOKEN = 'trigger-token-0123456789abcdef';
const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';
const INGEST_LIMIT = 4096;
const ALERT = readFixture('samples/valid/093-latest-terminal-shell-in-container.json').toString('utf8');

// How the body past the cap is framed.
const FRAMINGS: Array<[string, boolean]> = [
  ['with a length', false],
  ['chunked', true],
];

interface Sent {
  path: string;
  headers?: Record<string, string>;
  body: string;
  chunked?: boolean;
}

// One request as it goes on the wire: with its length, or as one chunk and the last chunk.
function wire({ path, headers = {}, body, chunked = false }: Sent): string {
  const framing = chunked
    ? { 'Transfer-Encoding': 'chunked' }
    : { 'Content-Length': String(Buffer.byteLength(body)) };
  const head = Object.entries({
    Host: '127.0.0.1',
    'Content-Type': 'application/json',
    ...headers,
    ...framing,
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const payload = chunked ? `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n` : body;
  return `POST ${path} HTTP/1.1\r\n${head}\r\n${payload}`;
}

// One server for both: the trigger API and the sign-in on, ingest's cap at INGEST_LIMIT.
describe('bodies read no further', () => {
  let built: ReturnType<typeof buildTestApp>;
  let server: http.Server;

  beforeAll(async () => {
    built = buildTestApp({
      env: {
        BODY_LIMIT_BYTES: String(INGEST_LIMIT),
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN,
        // No tool is reachable: a run that starts anyway fails without touching a cluster.
        TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
        VIEWER_TOKEN,
        SESSION_SECRET: 'session-secret-0123456789abcdef-0123456789',
      },
      parentEnv: {},
      logLevel: 'info',
    });
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    built.stream.closeAll();
    await built.triggers?.stop(1_000);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  // Regression (review of 6e2274d, helper rvbody): a body past its cap was answered 413 with
  // Connection: close, but node:http had parsed on, and a request pipelined behind it in the same
  // read was routed all the same (the trigger API and the sign-in are reached a loop turn later, past
  // Express's hundredth layer): a trigger run started, a session was issued, an alert was stored,
  // and the connection closed before their answers were written. Their senders cannot tell them from
  // requests never received, and send them again. Every request acted on must be answered: either
  // the connection closes before the request behind is routed, or it stays open and answers it.
  describe('requests pipelined behind a body past its cap', () => {
    // Both requests in one write, so the second arrives in the read that takes the first past its
    // cap; the second asks to close, so the connection ends either way. The statuses answered.
    const sendBoth = async (first: Sent, second: Sent) => {
      const connection = await openRaw(boundPort(server));
      const last = { ...second, headers: { ...second.headers, Connection: 'close' } };
      connection.write(wire(first) + wire(last));
      await connection.closed;
      return [...connection.received().matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => m[1]);
    };
    const auth = { Authorization: `Bearer ${TRIGGER_TOKEN}` };
    const logSince = (from: number, event: string) =>
      built.logLines.slice(from).filter((line) => line.event === event);

    it.each(FRAMINGS)(
      'a trigger body past 16 KB (%s): 413, and the call behind it is answered if acted on',
      async (_, chunked) => {
        const from = built.logLines.length;
        const oversized = JSON.stringify({ image: 'x'.repeat(17 * 1024) });

        const statuses = await sendBoth(
          { path: '/triggers/shell', headers: auth, body: oversized, chunked },
          { path: '/triggers/shell', headers: auth, body: '{}' },
        );

        expect(statuses[0]).toBe('413');
        // Each call audited (413, then 202 started or 429 busy) got its answer, in order.
        expect(logSince(from, 'trigger_audit').map((line) => String(line.status))).toEqual(statuses);
      },
    );

    it.each(FRAMINGS)(
      'a sign-in body past 2 KB (%s): 413, and the sign-in behind it is answered if a session is issued',
      async (_, chunked) => {
        const from = built.logLines.length;

        const statuses = await sendBoth(
          { path: '/ui/session', body: JSON.stringify({ token: 'x'.repeat(3 * 1024) }), chunked },
          { path: '/ui/session', body: JSON.stringify({ token: VIEWER_TOKEN }) },
        );

        expect(statuses[0]).toBe('413');
        expect(logSince(from, 'session_started')).toHaveLength(statuses.filter((s) => s === '200').length);
      },
    );

    it.each(FRAMINGS)(
      'an alert past BODY_LIMIT_BYTES (%s): 413, and the alert behind it is answered if stored',
      async (_, chunked) => {
        const before = await built.store.count();

        const statuses = await sendBoth(
          { path: '/alerts', body: 'x'.repeat(INGEST_LIMIT + 100), chunked },
          { path: '/alerts', body: ALERT },
        );

        expect(statuses[0]).toBe('413');
        expect((await built.store.count()) - before).toBe(statuses.filter((s) => s === '202').length);
      },
    );
  });

  // Regression (review of f614fde, helper closers): a body refused 415 for its charset or content
  // coding was left unread, and node:http drained it after the answer, keeping the connection: an
  // endless one was read until SERVER_REQUEST_TIMEOUT_MS, and its client then got a 408 as well
  // (counted as a client error). It is closed as the 413 closes a body still arriving.
  describe('a body refused 415 while still arriving', () => {
    it.each([
      ['the trigger API', '/triggers/shell', 'application/json; charset=utf-16', undefined],
      ['the trigger API', '/triggers/shell', 'application/json', 'gzip'],
      ['the trigger API', '/triggers/shell', 'text/plain', undefined],
      ['the sign-in', '/ui/session', 'application/json; charset=latin1', undefined],
      ['the sign-in', '/ui/session', 'application/json', 'gzip'],
      ['ingest', '/alerts', 'application/json', 'gzip'],
      ['ingest', '/alerts', 'multipart/form-data', undefined],
      ['ingest', '/alerts', 'application/json; charset=utf-16', undefined],
    ])(
      '%s (%s, %s, coding %s): 415 at once, and the connection closed without reading the rest',
      async (_, path, contentType, coding) => {
        const connection = await openRaw(boundPort(server));
        const headers = [
          `POST ${path} HTTP/1.1`,
          'Host: 127.0.0.1',
          `Authorization: Bearer ${TRIGGER_TOKEN}`,
          `Content-Type: ${contentType}`,
          ...(coding ? [`Content-Encoding: ${coding}`] : []),
          'Transfer-Encoding: chunked',
        ];
        connection.write(`${headers.join('\r\n')}\r\n\r\n`);

        // An endless body: a chunk every 20 ms, for 1.5 s at most.
        const deadline = Date.now() + 1_500;
        while (!connection.isClosed() && Date.now() < deadline) {
          connection.write(`400\r\n${'x'.repeat(1024)}\r\n`);
          await Promise.race([connection.closed, new Promise((resolve) => setTimeout(resolve, 20))]);
        }

        expect(connection.isClosed()).toBe(true);
        expect([...connection.received().matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => m[1])).toEqual([
          '415',
        ]);
        expect(connection.received()).toMatch(/^Connection: close\r$/im);
      },
    );
  });
});
