import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ONE_SHOT_AFTER } from '../../src/http/one-shot-senders.js';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { readFixture } from '../helpers/fixtures.js';
import { openRaw } from '../helpers/raw-connection.js';
import { connectionLimits, startReceiver } from '../helpers/start-receiver.js';
import { buildTestApp } from '../helpers/test-app.js';

const TRIGGER_TOKEN = 'trigger-token-0123456789abcdef';
const ALERT = readFixture('samples/valid/093-latest-terminal-shell-in-container.json').toString('utf8');
const LIMIT = 4096;

// How the first request's body is framed: a length (the fast path) or chunked (Express's route).
const FRAMINGS: Array<[string, boolean]> = [
  ['with a length', false],
  ['chunked', true],
];

interface Sent {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  chunked?: boolean;
}

// One request as it goes on the wire: bodiless, with its length, or as one chunk and the last chunk.
function wire({ method = 'POST', path, headers = {}, body, chunked = false }: Sent): string {
  let framing = {};
  let payload = '';
  if (body !== undefined) {
    const length = Buffer.byteLength(body);
    framing = chunked
      ? { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }
      : { 'Content-Type': 'application/json', 'Content-Length': String(length) };
    payload = chunked ? `${length.toString(16)}\r\n${body}\r\n0\r\n\r\n` : body;
  }
  const head = Object.entries({ Host: '127.0.0.1', ...headers, ...framing })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `${method} ${path} HTTP/1.1\r\n${head}\r\n${payload}`;
}

// Regression (review of f614fde, helper closers): answers that said Connection: close with a plain
// header (ingest's 503 when shedding, every answer while draining, the close of a one-shot sender's
// connection) left node:http to parse and route the requests pipelined behind them in the same
// read: an alert was stored, a trigger run started, and the connection closed before their
// answers were written, so their senders could not tell them from lost requests. Every request
// acted on must be answered: either the connection closes before it is routed, or it stays open.
describe('requests pipelined behind an answer that closes its connection', () => {
  let built: ReturnType<typeof buildTestApp>;
  let server: http.Server;
  const start = async (env: Record<string, string> = {}) => {
    built = buildTestApp({
      env: {
        BODY_LIMIT_BYTES: String(LIMIT),
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN,
        // No tool is reachable: a run that starts anyway fails without touching a cluster.
        TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
        ...env,
      },
      parentEnv: {},
      logLevel: 'info',
    });
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
  };
  afterEach(async () => {
    built.stream.closeAll();
    await built.triggers?.stop(1_000);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  // The requests in one write, the last asking to close, so the connection ends either way: the
  // statuses answered, and whether an answer said Connection: close.
  const sendAll = async (requests: Sent[], localAddress?: string) => {
    const connection = await openRaw(boundPort(server), localAddress);
    const last = requests.at(-1)!;
    const closing = { ...last, headers: { ...last.headers, Connection: 'close' } };
    connection.write([...requests.slice(0, -1), closing].map(wire).join(''));
    await connection.closed;
    const text = connection.received();
    return {
      statuses: [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => m[1]),
      closes: text.split(/(?=^HTTP\/1\.1 )/m).map((answer) => /^Connection: close\r$/im.test(answer)),
    };
  };
  const storedSince = async (before: number) => (await built.store.count()) - before;

  it.each(FRAMINGS)(
    'an alert shed for the in-flight budget (%s): 503, and the alert behind it is answered if stored',
    async (_, chunked) => {
      await start({ INGEST_MAX_INFLIGHT_BYTES: String(LIMIT) });
      // Another client holds 1,000 bytes of the budget, its body never sent: a first alert declaring
      // 4,000 bytes (or a chunked one, which reserves the cap) is shed; the smaller one behind fits.
      const holder = await openRaw(boundPort(server), '127.0.0.2');
      holder.write(wire({ path: '/alerts', body: 'x'.repeat(1000) }).slice(0, -1000));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const before = await built.store.count();

      const { statuses } = await sendAll([
        { path: '/alerts', body: 'x'.repeat(4000), chunked },
        { path: '/alerts', body: ALERT },
      ]);

      expect(statuses[0]).toBe('503');
      expect(await storedSince(before)).toBe(statuses.filter((status) => status === '202').length);
      holder.socket.destroy();
    },
  );

  it.each([
    ['an alert with a length', { path: '/alerts', body: ALERT }],
    ['a chunked alert', { path: '/alerts', body: ALERT, chunked: true }],
    ['GET /healthz', { method: 'GET', path: '/healthz' }],
  ] as Array<[string, Sent]>)(
    'while draining, %s first: the alert behind it is answered if stored, and the connection closes',
    async (_, first) => {
      await start();
      built.lifecycle.beginShutdown();
      const before = await built.store.count();

      const { statuses, closes } = await sendAll([first, { path: '/alerts', body: ALERT }]);

      expect(closes[0]).toBe(true);
      expect(await storedSince(before)).toBe(statuses.filter((status) => status === '202').length);
    },
  );

  it.each(FRAMINGS)(
    "a one-shot sender's alert (%s) with a trigger call pipelined behind it: the call is answered if audited",
    async (_, chunked) => {
      await start();
      // Falco 0.34's way: one alert per connection, ONE_SHOT_AFTER times from this address.
      for (let i = 0; i < ONE_SHOT_AFTER; i++) await sendAll([{ path: '/alerts', body: ALERT }], '127.0.0.3');
      const from = built.logLines.length;

      const { statuses } = await sendAll(
        [
          { path: '/alerts', body: ALERT, chunked },
          { path: '/triggers/shell', headers: { Authorization: `Bearer ${TRIGGER_TOKEN}` }, body: '{}' },
        ],
        '127.0.0.3',
      );

      expect(statuses[0]).toBe('202');
      const audited = built.logLines.slice(from).filter((line) => line.event === 'trigger_audit');
      expect(audited.map((line) => String(line.status))).toEqual(statuses.slice(1));
    },
  );
});

// Regression (review of 489c5e9, helper rvclose): what the parser refused behind a request a
// route already had whole (a line that is not HTTP, any request after one that asked to close,
// HTTP/1.0 without keep-alive) was answered on the raw socket at once, ahead of that request's own
// answer: its client read the 400 as the answer to its alert, which had been stored, and the 202
// was never written. The answers of the requests routed come first, then the refusal.
describe('what node:http refuses or drops behind a request a route already has', () => {
  let built: ReturnType<typeof buildTestApp>;
  let server: http.Server;
  const start = async () => {
    built = buildTestApp({ env: { BODY_LIMIT_BYTES: String(LIMIT) }, parentEnv: {}, logLevel: 'info' });
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
  };
  afterEach(async () => {
    built.stream.closeAll();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    ['a line that is not HTTP', {}, 'NOT HTTP\r\n\r\n', ['202', '400']],
    [
      'a request after one that asked to close',
      { Connection: 'close' },
      wire({ path: '/healthz', method: 'GET' }),
      ['202'],
    ],
    ['a line that is not HTTP (the alert chunked)', {}, 'NOT HTTP\r\n\r\n', ['202', '400'], true],
  ] as Array<[string, Record<string, string>, string, string[], boolean?]>)(
    'an alert, then %s in the same write: the alert is answered first',
    async (_, headers, behind, expected, chunked = false) => {
      await start();
      const connection = await openRaw(boundPort(server));

      connection.write(wire({ path: '/alerts', headers, body: ALERT, chunked }) + behind);
      await connection.closed;

      const statuses = [...connection.received().matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => m[1]);
      expect(statuses).toEqual(expected);
      expect(await built.store.count()).toBe(1);
    },
  );

  // Regression (review of d7bdebc, helper rvlast): an alert refused in its body (a chunk size that
  // is not hex) behind another's answer waited for its own answer, which waited for a body the
  // parser reads no more of: the connection stayed open for ever, its request timeout's refusal
  // dropped. Its refusal now follows the answers ahead of it.
  it.each(FRAMINGS)(
    'an alert (%s), then a chunked alert whose chunk is refused: 202, 400, and the connection closes',
    async (_, chunked) => {
      await start();
      const connection = await openRaw(boundPort(server));
      const refused = wire({ path: '/alerts', body: ALERT, chunked: true }).replace(
        /\r\n\r\n[\s\S]*$/,
        '\r\n\r\n',
      );

      connection.write(wire({ path: '/alerts', body: ALERT, chunked }) + refused + 'zz\r\n');
      await Promise.race([connection.closed, new Promise((resolve) => setTimeout(resolve, 1_500))]);

      expect(connection.isClosed()).toBe(true);
      const statuses = [...connection.received().matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => m[1]);
      expect(statuses).toEqual(['202', '400']);
      expect(await built.store.count()).toBe(1);
      connection.socket.destroy();
    },
  );

  // Regression (review of 489c5e9, helper rvclose): node:http stops parsing a read at a request
  // that asks to upgrade (Connection: upgrade, as curl --http2 sends for h2c) and, with no
  // 'upgrade' listener, drops the rest of that read: a request pipelined behind it was never
  // routed nor answered while the connection stayed open, and took the next request's answer.
  it.each([
    ['an alert', { path: '/alerts', body: ALERT }],
    ['GET /healthz', { method: 'GET', path: '/healthz' }],
  ] as Array<[string, Sent]>)(
    '%s with Upgrade: h2c: answered with Connection: close, and the connection closes',
    async (_, first) => {
      await start();
      const connection = await openRaw(boundPort(server));
      const upgrade = {
        ...first,
        headers: {
          Connection: 'Upgrade, HTTP2-Settings',
          Upgrade: 'h2c',
          'HTTP2-Settings': 'AAMAAABkAAQCAAAAAAIAAAAA',
        },
      };

      connection.write(wire(upgrade) + wire({ method: 'GET', path: '/healthz' }));
      await Promise.race([connection.closed, new Promise((resolve) => setTimeout(resolve, 1_500))]);

      expect(connection.isClosed()).toBe(true);
      const answers = connection.received().split(/(?=^HTTP\/1\.1 )/m);
      expect(answers).toHaveLength(1);
      expect(answers[0]).toMatch(/^Connection: close\r$/im);
      connection.socket.destroy();
    },
  );
});

// Regression (review of d7bdebc, helper rvlast): a request whose body never came, pipelined behind
// a live stream, had its request timeout's refusal wait for the stream, which never ends: the
// connection stayed open and the alert route kept its body's share of the ingest budget, so other
// senders' alerts were shed (503) for as long as the stream lasted. Cut at the timeout, as before.
// Regression (review of 12a5d4b, helper rvfinal): in one write, the stream's answer had not begun
// when the parser refused what came behind it, so the refusal waited for the stream's end all the
// same, and dropped the timeout's refusal: a chunked alert whose chunk size is not hex held its
// connection and its share of the budget, and junk the stream's connection, past the timeout.
describe('what the parser refuses behind a live stream', () => {
  const chunkedHead = wire({ path: '/alerts', body: ALERT, chunked: true }).replace(
    /\r\n\r\n[\s\S]*$/,
    '\r\n\r\n',
  );
  it.each([
    ['an alert whose body never comes', wire({ path: '/alerts', body: 'x'.repeat(4000) }).slice(0, -3999), 1],
    ['a chunked alert whose chunk size is not hex', `${chunkedHead}zz\r\n`, 1],
    ['a line that is not HTTP', 'NOT HTTP\r\n\r\n', 0],
  ])(
    'in the same write, %s: cut at its timeout, its share of the ingest budget freed',
    async (_, behind, incomplete) => {
      const limits = { ...connectionLimits(100, 100), headersTimeoutMs: 500, requestTimeoutMs: 1_000 };
      const receiver = await startReceiver({
        limits,
        bodyLimitBytes: LIMIT,
        env: { INGEST_MAX_INFLIGHT_BYTES: String(LIMIT) },
      });
      try {
        const connection = await openRaw(receiver.port);
        const stream = wire({
          method: 'GET',
          path: '/alerts/stream',
          headers: { Host: `127.0.0.1:${receiver.port}` },
        });
        connection.write(stream + behind);
        await Promise.race([connection.closed, new Promise((resolve) => setTimeout(resolve, 2_500))]);

        expect(connection.isClosed()).toBe(true);
        const other = await openRaw(receiver.port, '127.0.0.2');
        other.write(wire({ path: '/alerts', headers: { Connection: 'close' }, body: ALERT }));
        await other.closed;
        expect(other.received()).toMatch(/^HTTP\/1\.1 202 /);
        expect(await receiver.metricsText()).toMatch(
          new RegExp(`^falco_alerts_rejected_total\\{reason="incomplete_body"\\} ${incomplete}$`, 'm'),
        );
        connection.socket.destroy();
      } finally {
        await receiver.close();
      }
    },
  );
});
