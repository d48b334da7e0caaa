import { describe, expect, it, onTestFinished } from 'vitest';
import { readFixture } from '../helpers/fixtures.js';
import { openRaw, type RawConnection } from '../helpers/raw-connection.js';
import { serveForTest } from '../helpers/serve-for-test.js';
import { connectionLimits, startReceiver } from '../helpers/start-receiver.js';

const ALERT = readFixture('samples/valid/093-latest-terminal-shell-in-container.json').toString('utf8');
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const alertPost = (headers = '') =>
  `POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}` +
  `Content-Length: ${Buffer.byteLength(ALERT)}\r\n\r\n`;
const chunkedAlertPost =
  'POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
  `${Buffer.byteLength(ALERT).toString(16)}\r\n${ALERT}\r\n0\r\n\r\n`;
// The probe's request: a health check declaring a body it sends a byte at a time.
const healthWithBody = (length: number, framing = `Content-Length: ${length}`) =>
  `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${framing}\r\n\r\n`;

// An answer's body ends without a line break: the next one's status line follows on its line.
const answers = (connection: RawConnection) => connection.received().split(/(?=HTTP\/1\.1 \d{3} )/);
const statuses = (connection: RawConnection) =>
  [...connection.received().matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1]);
const closesWithin = (connection: RawConnection, ms: number) =>
  Promise.race([connection.closed.then(() => true), delay(ms).then(() => false)]);

// The service's own limits: a request gets SERVER_REQUEST_TIMEOUT_MS (30 s) to arrive.
async function start(maxConnections = 100) {
  const receiver = await startReceiver({ limits: connectionLimits(maxConnections, 100) });
  onTestFinished(() => receiver.close());
  return receiver;
}

async function open(port: number, localAddress?: string) {
  const connection = await openRaw(port, localAddress);
  onTestFinished(() => void connection.socket.destroy());
  return connection;
}

// Writes a byte every 100 ms, as the probe trickled its bodies, until the connection closes.
function trickle(connection: RawConnection): () => void {
  const timer = setInterval(() => connection.write('x'), 100);
  return () => clearInterval(timer);
}

// Regression (probe of 2026-12-06, docs/hardening.md): `GET /healthz` declaring 100,000 bytes of
// body, then a byte a second, was answered at once and its connection kept while node:http read
// (and dropped) the body until SERVER_REQUEST_TIMEOUT_MS. The connection cap's sweep spares a
// connection whose request has begun, so 9,800 of them from 42 addresses held SERVER_MAX_CONNECTIONS
// and every other client got 503 (max_connections).
describe('an answer written while its request body is still arriving', () => {
  it('GET /healthz declaring 100,000 bytes, a byte at a time: 200 with Connection: close, and the connection closes', async () => {
    const { port } = await start();
    const connection = await open(port);
    connection.write(`${healthWithBody(100_000)}abc`);
    const stop = trickle(connection);

    const closed = await closesWithin(connection, 1_500);
    stop();

    expect(closed).toBe(true);
    expect(statuses(connection)).toEqual(['200']);
    expect(connection.received()).toMatch(/^Connection: close\r$/im);
    // Ended after the answer left, not cut before it: the whole body is there.
    expect(connection.received()).toMatch(/\r\n\r\n\{"status":"ok"\}$/);
  });

  it('GET /healthz with a chunked body still arriving: answered whole, and the connection closes', async () => {
    const { port } = await start();
    const connection = await open(port);
    // One chunk of 100,000 bytes, its bytes trickled.
    connection.write(`${healthWithBody(0, 'Transfer-Encoding: chunked')}186a0\r\nabc`);
    const stop = trickle(connection);

    const closed = await closesWithin(connection, 1_500);
    stop();

    expect(closed).toBe(true);
    expect(statuses(connection)).toEqual(['200']);
    expect(connection.received()).toMatch(/\r\n\r\n\{"status":"ok"\}$/);
  });

  // node:http closes after such an answer itself (no 100 Continue sent): the two agree.
  it('a POST no route serves, with Expect: 100-continue: answered alone with Connection: close, and the connection closes', async () => {
    const { port } = await start();
    const connection = await open(port);
    connection.write(
      'POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n',
    );

    const closed = await closesWithin(connection, 1_500);

    expect(closed).toBe(true);
    expect(statuses(connection)).toEqual(['404']);
    expect(connection.received()).toMatch(/^Connection: close\r$/im);
  });

  it('such connections at SERVER_MAX_CONNECTIONS do not hold it: a fresh client is answered', async () => {
    const receiver = await start(4);
    const addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
    const attackers = await Promise.all(addresses.map((address) => open(receiver.port, address)));
    const stops = attackers.map((connection) => {
      connection.write(`${healthWithBody(100_000)}abc`);
      return trickle(connection);
    });
    for (const connection of attackers) await expect.poll(() => statuses(connection)).toEqual(['200']);
    // Their closes reach the server's count (or, before the fix, never come).
    await Promise.all(attackers.map((connection) => closesWithin(connection, 1_000)));

    const canary = await open(receiver.port, '127.0.0.9');
    canary.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await canary.closed;
    for (const stop of stops) stop();

    expect(statuses(canary)).toEqual(['200']);
    expect(await receiver.metricsText()).not.toMatch(
      /^falco_http_connections_refused_total\{reason="max_connections"\} [1-9]/m,
    );
  });
});

describe('a route that says keep-alive itself', () => {
  // A live stream writes its own Connection: keep-alive over the close decided for it.
  it('answering while the body is still arriving: the connection closes once the answer has left', async () => {
    const url = await serveForTest((_req, res) => {
      res.writeHead(200, { Connection: 'keep-alive', 'Content-Length': '2' }).end('ok');
    });
    const connection = await open(Number(new URL(url).port));
    connection.write(`${healthWithBody(100_000)}abc`);

    expect(await closesWithin(connection, 1_500)).toBe(true);
    expect(connection.received()).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\nok$/);
  });
});

// What must stay as it was: an answer written after its request arrived whole keeps its
// connection (Falco 0.40 reuses one connection for every alert), and so do the requests pipelined
// behind it.
describe('an answer written after its request arrived whole', () => {
  // Waits for the answers, then checks the connection is still open a little later.
  const answeredAndOpen = async (connection: RawConnection, expected: string[]) => {
    await expect.poll(() => statuses(connection)).toEqual(expected);
    await delay(300);
    expect(connection.isClosed()).toBe(false);
    for (const answer of answers(connection)) expect(answer).not.toMatch(/^Connection: close\r$/im);
  };

  it('two alerts on one kept-alive connection, each body sent after its headers: 202 twice, kept open', async () => {
    const { port } = await start();
    const connection = await open(port);
    for (const expected of [['202'], ['202', '202']]) {
      connection.write(alertPost());
      await delay(50);
      connection.write(ALERT.slice(0, 100));
      await delay(50);
      connection.write(ALERT.slice(100));
      await answeredAndOpen(connection, expected);
    }
  });

  it('a chunked alert, then another: 202 twice, kept open', async () => {
    const { port } = await start();
    const connection = await open(port);
    connection.write(chunkedAlertPost);
    await answeredAndOpen(connection, ['202']);
    connection.write(chunkedAlertPost);
    await answeredAndOpen(connection, ['202', '202']);
  });

  it('an alert with Expect: 100-continue, its body sent once invited: 202, kept open', async () => {
    const { port } = await start();
    const connection = await open(port);
    connection.write(alertPost('Expect: 100-continue\r\n'));
    await expect.poll(() => connection.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    connection.write(ALERT);
    await expect.poll(() => statuses(connection)).toEqual(['100', '202']);
    await delay(300);
    expect(connection.isClosed()).toBe(false);
    expect(connection.received()).not.toMatch(/^Connection: close\r$/im);
  });

  // node:http runs the process.nextTick queue (where an answer's 'finish' is emitted) after the
  // route it handed the headers to returns, before it parses the body behind them in the same read:
  // an answer written at once was taken for one whose body was still arriving, the connection cut
  // without a Connection: close and the request behind never answered.
  it('a refusal written at once (no secret path), its body and a health check in the same write: both answered, kept open', async () => {
    const receiver = await startReceiver({
      limits: connectionLimits(100, 100),
      pathSecret: 'close-while-body-arrives-secret',
    });
    onTestFinished(() => receiver.close());
    const connection = await open(receiver.port);

    connection.write(`${alertPost()}${ALERT}GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);

    await answeredAndOpen(connection, ['401', '200']);
  });

  it('a route answering at once, its small body in the same write as its headers: kept open for the next request', async () => {
    const url = await serveForTest((_req, res) => void res.end('ok'));
    const connection = await open(Number(new URL(url).port));

    connection.write(`${healthWithBody(3)}abc`);
    await answeredAndOpen(connection, ['200']);
    connection.write(`${healthWithBody(3)}abc`);
    await answeredAndOpen(connection, ['200', '200']);
  });

  it('an alert, a health check with a small body and another alert pipelined in one write: all answered, kept open', async () => {
    const { port } = await start();
    const connection = await open(port);

    connection.write(`${alertPost()}${ALERT}${healthWithBody(3)}abc${alertPost()}${ALERT}`);

    await answeredAndOpen(connection, ['202', '200', '202']);
  });
});
