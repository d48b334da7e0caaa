import { readFileSync, rmSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { KEPT_ALIVE_QUIET_MS, SILENT_MS, SLOW_HEADERS_MS } from '../../src/server/connections-per-address.js';
import { LINGER_MS } from '../../src/server/linger-close.js';
import { nodeConnections } from '../../src/server/node-connections.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeTestPki, type TestPki } from '../helpers/make-certificates.js';
import { openLingering, openRaw, type RawConnection } from '../helpers/raw-connection.js';
import { connectionLimits, startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const ALERT = JSON.stringify({ rule: 'r', priority: 'Notice', time: '2026-11-30T12:00:00Z', output: 'x' });
const POST =
  'POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
  `Content-Length: ${Buffer.byteLength(ALERT)}\r\n\r\n${ALERT}`;
const statusLines = (connection: RawConnection) => connection.received().match(/^HTTP\/1\.1 \d{3}/gm) ?? [];
const hasOpenssl = requireComponent('openssl', commandWorks('openssl', ['version']));
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let receiver: TestReceiver | undefined;
const connections: RawConnection[] = [];
afterEach(async () => {
  for (const connection of connections.splice(0)) connection.socket.destroy();
  await receiver?.close();
  receiver = undefined;
});

async function start(maxConnections: number, maxConnectionsPerAddress: number) {
  receiver = await startReceiver({ limits: connectionLimits(maxConnections, maxConnectionsPerAddress) });
  return receiver;
}

async function open(localAddress: string) {
  const connection = await openRaw(receiver!.port, localAddress);
  connections.push(connection);
  return connection;
}

/**
 * A connection from `localAddress` lingering after its 404 (linger-close.ts), its client sending a
 * byte every 50 ms: the server's close of it comes back as a reset, so the test sees it.
 */
async function lingering(localAddress: string) {
  const connection = await openLingering(receiver!.port, localAddress);
  connections.push(connection);
  const timer = setInterval(() => connection.write('x'), 50);
  void connection.closed.then(() => clearInterval(timer));
  return connection;
}

/** Each event's listener count on the receiver's side of the one connection open to `server`. */
function servedListeners(server: http.Server | https.Server): Record<string, number> {
  const socket = nodeConnections(server)?.all()[0]?.socket;
  if (!socket) throw new Error('no connection open');
  return Object.fromEntries(socket.eventNames().map((name) => [String(name), socket.listenerCount(name)]));
}

// What GET /alerts lists, asked from an address of its own.
async function storedAlerts(): Promise<number> {
  const body = await new Promise<string>((resolve, reject) => {
    const options = { host: '127.0.0.1', port: receiver!.port, path: '/alerts', localAddress: '127.0.0.99' };
    http
      .get({ ...options, agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
  return (JSON.parse(body) as { count: number }).count;
}

const refusedCount = async (reason: string) =>
  Number(
    new RegExp(`^falco_http_connections_refused_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(
      await receiver!.metricsText(),
    )?.[1],
  );
const openConnections = (server: net.Server) =>
  new Promise<number>((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
const refusalLines = () => receiver!.logLines.filter((line) => line.event === 'connection_refused');

/** One connection lingering after its answer, from `caller`, was closed at a cap: counted and logged. */
async function expectLingeringClosedFrom(caller: string) {
  expect(await refusedCount('lingering')).toBe(1);
  expect(refusalLines()).toEqual([
    expect.objectContaining({ level: 'warn', reason: 'lingering', count: 1, caller }),
  ]);
}

/**
 * Tells `sensor` (a child process) to send, then holds this loop 600 ms in a callback (a loopback
 * connection's data handler) while a connection from `refusedAddress` is refused at the cap in the
 * same poll phase: the cap's sweep follows the busy callback, with the sensor's bytes not yet read.
 */
async function sendWhileLoopBusy(sensor: ChildProcess, refusedAddress: string): Promise<void> {
  const busy = net.createServer((socket) =>
    socket.on('data', () => {
      const until = Date.now() + 600;
      while (Date.now() < until);
    }),
  );
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const trigger = net.connect((busy.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => trigger.once('connect', resolve));
  sensor.stdin!.write('go\n');
  await delay(30);
  const refused = open(refusedAddress);
  trigger.write('x');
  await refused;
  trigger.destroy();
  busy.close();
}

describe('limitConnections', () => {
  // Regression (review, real Falco 0.34.1): under SERVER_MAX_CONNECTIONS_PER_ADDRESS every alert
  // was stored, yet Falco logged 503 bodies; a sender retrying on 5xx would have stored each twice.
  it.each([
    ['SERVER_MAX_CONNECTIONS_PER_ADDRESS', 10_000, 1, 'max_connections_per_address'],
    ['SERVER_MAX_CONNECTIONS', 1, 10, 'max_connections'],
  ])(
    'never stores the alert of a connection refused at %s: its 503 is the only answer',
    async (name, maxConnections, maxConnectionsPerAddress, reason) => {
      await start(maxConnections, maxConnectionsPerAddress);
      const idle = await open('127.0.0.1');
      const refused = await open('127.0.0.1');
      refused.write(POST);

      await refused.closed;
      expect(statusLines(refused)).toEqual(['HTTP/1.1 503']);
      expect(refused.received()).toContain(`(${name})`);
      // At SERVER_MAX_CONNECTIONS the silent connection is closed to make room.
      if (maxConnections === 1) await idle.closed;
      expect(await storedAlerts()).toBe(0);
      expect(receiver!.logLines.filter((line) => line.event === 'falco_alert')).toEqual([]);
      expect(await receiver!.metricsText()).not.toMatch(/^falco_alerts_total\{/m);
      expect(await refusedCount(reason)).toBe(1);
      expect(refusalLines()).toEqual([
        expect.objectContaining({ level: 'warn', reason, count: 1, caller: '127.0.0.1' }),
      ]);
    },
  );

  // Regression (review, real Falco 0.40.0 at SERVER_MAX_CONNECTIONS): a kept-alive connection whose
  // next request had arrived but was not yet answered was closed to make room, and its alert lost
  // ("Failure when receiving data from the peer") with no metric and no log line.
  it('at SERVER_MAX_CONNECTIONS keeps a kept-alive connection whose next request has begun, and closes a silent one', async () => {
    await start(2, 10);
    const sender = await open('127.0.0.2');
    sender.write(POST);
    await expect.poll(() => statusLines(sender)).toEqual(['HTTP/1.1 202']);
    const silent = await open('127.0.0.3');
    sender.write(POST.slice(0, 40));
    await delay(50);

    const refused = await open('127.0.0.4');
    await refused.closed;
    expect(statusLines(refused)).toEqual(['HTTP/1.1 503']);
    sender.write(POST.slice(40));
    await expect.poll(() => statusLines(sender)).toEqual(['HTTP/1.1 202', 'HTTP/1.1 202']);
    // The silent one goes once silent for SILENT_MS (younger, it may not have been read yet).
    expect(silent.isClosed()).toBe(false);
    await silent.closed;
    expect(sender.isClosed()).toBe(false);
    expect(await refusedCount('slow_headers')).toBe(0);
  });

  // Regression (review): connections accepted in this or a recent poll phase are often unread though
  // their client sent its request with the connect; closing every connection silent so far lost 483
  // of 6,000 alerts sent a connection each at SERVER_MAX_CONNECTIONS=20, none of them counted.
  it('at SERVER_MAX_CONNECTIONS keeps a connection younger than SILENT_MS that has read nothing yet', async () => {
    await start(2, 10);
    const sender = await open('127.0.0.2');
    const young = await open('127.0.0.3');
    const refused = await open('127.0.0.4');
    await refused.closed;
    expect(statusLines(refused)).toEqual(['HTTP/1.1 503']);
    await delay(SILENT_MS / 2);
    for (const connection of [sender, young]) connection.write(POST);
    await expect.poll(() => [sender, young].map(statusLines)).toEqual([['HTTP/1.1 202'], ['HTTP/1.1 202']]);
    expect(await refusedCount('max_connections')).toBe(1);
  });

  // Regression: admissions and sweeps were timed on the wall clock: after an NTP step forward, the
  // sweep that followed the refusal took connections admitted just before it as silent for
  // SILENT_MS, and closed them before their requests were read (the alerts lost, counted nowhere).
  it('at SERVER_MAX_CONNECTIONS keeps a young connection that has read nothing yet though the wall clock stepped forward', async () => {
    await start(2, 10);
    const sender = await open('127.0.0.2');
    const young = await open('127.0.0.3');
    // Only Date is faked: the wall clock, stepped an hour; timers keep real time.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000, shouldAdvanceTime: true });
    try {
      const refused = await open('127.0.0.4');
      await refused.closed;
      // Past the follow-up sweep (SILENT_MS after the refusal's), before the one after it.
      await delay(SILENT_MS + 100);
      for (const connection of [sender, young]) connection.write(POST);
      await expect.poll(() => [sender, young].map(statusLines)).toEqual([['HTTP/1.1 202'], ['HTTP/1.1 202']]);
    } finally {
      vi.useRealTimers();
    }
  });

  // Regression (real Falco 0.40.0, its one connection closed at every refusal: 14 of 1,000 alerts
  // lost, sent as the connection closed).
  it('at SERVER_MAX_CONNECTIONS closes a kept-alive connection only once it has read nothing for KEPT_ALIVE_QUIET_MS, when nothing else makes room', async () => {
    await start(2, 10);
    const [quiet, busy] = [await open('127.0.0.2'), await open('127.0.0.3')];
    for (const connection of [quiet, busy]) connection.write(POST);
    await expect.poll(() => [quiet, busy].map(statusLines)).toEqual([['HTTP/1.1 202'], ['HTTP/1.1 202']]);

    const firstRefusal = Date.now();
    await (
      await open('127.0.0.4')
    ).closed;
    busy.write(POST);
    await expect.poll(() => statusLines(busy)).toHaveLength(2);
    expect(quiet.isClosed()).toBe(false);
    // A sweep that closed nothing looks again every SILENT_MS: the quiet one goes once quiet long enough.
    await quiet.closed;
    // Closed by a later sweep, well before the keep-alive timeout (5 s) would have closed it.
    expect(Date.now() - firstRefusal).toBeGreaterThanOrEqual(KEPT_ALIVE_QUIET_MS);
    expect(Date.now() - firstRefusal).toBeLessThan(KEPT_ALIVE_QUIET_MS + 4 * SILENT_MS);
    expect(busy.isClosed()).toBe(false);

    const next = await open('127.0.0.4');
    next.write(POST);
    await expect.poll(() => statusLines(next)).toEqual(['HTTP/1.1 202']);
  });

  it('at SERVER_MAX_CONNECTIONS closes connections whose headers are slower than SLOW_HEADERS_MS, counted and logged, so the next sensor gets in', async () => {
    await start(3, 10);
    const slow = [await open('127.0.0.2'), await open('127.0.0.3')];
    for (const connection of slow) connection.write(POST.slice(0, 40));
    await delay(SLOW_HEADERS_MS + 100);
    const young = await open('127.0.0.4');
    young.write(POST.slice(0, 40));
    await delay(50);

    const refused = await open('127.0.0.5');
    await Promise.all([refused.closed, ...slow.map((connection) => connection.closed)]);
    young.write(POST.slice(40));
    await expect.poll(() => statusLines(young)).toEqual(['HTTP/1.1 202']);
    expect(await refusedCount('slow_headers')).toBe(2);
    expect(await refusedCount('max_connections')).toBe(1);
    // The first of each reason at once; the second slowloris waits for the next line, 10 s on.
    expect(refusalLines()).toEqual([
      expect.objectContaining({ level: 'warn', reason: 'max_connections', count: 1, caller: '127.0.0.5' }),
      expect.objectContaining({ level: 'warn', reason: 'slow_headers', count: 1, caller: '127.0.0.2' }),
    ]);
    const next = await open('127.0.0.5');
    next.write(POST);
    await expect.poll(() => statusLines(next)).toEqual(['HTTP/1.1 202']);
  });
});

// A connection lingering after its answer (linger-close.ts) has nothing left to deliver, and only
// waits up to LINGER_MS for its client's FIN: held at a cap, a flood reconnecting every 2 s kept
// newcomers out, each refused with a 503.
describe('limitConnections and connections lingering after their answer', () => {
  /** Posts an alert from `localAddress`, answered 202; resolves with which of `held` closed first. */
  async function admitInPlaceOf(localAddress: string, held: RawConnection[]): Promise<number> {
    const newcomer = await open(localAddress);
    newcomer.write(POST);
    await expect.poll(() => statusLines(newcomer)).toEqual(['HTTP/1.1 202']);
    return Promise.race(held.map((connection, at) => connection.closed.then(() => at)));
  }

  it('at SERVER_MAX_CONNECTIONS_PER_ADDRESS admits a newcomer in place of a lingering connection of its address', async () => {
    await start(100, 2);
    const ours = [await lingering('127.0.0.2'), await lingering('127.0.0.2')];
    const lingeringSince = performance.now();
    const others = await lingering('127.0.0.3');

    const givenUp = await admitInPlaceOf('127.0.0.2', ours);

    expect(performance.now() - lingeringSince).toBeLessThan(LINGER_MS);
    expect(ours[1 - givenUp]!.isClosed()).toBe(false);
    expect(others.isClosed()).toBe(false);
    expect(ours[givenUp]!.received()).toMatch(/^HTTP\/1\.1 404 /);
    expect(await refusedCount('max_connections_per_address')).toBe(0);
    // The one closed to make room is counted and logged, as a slowloris closed at the cap is.
    await expectLingeringClosedFrom('127.0.0.2');
  });

  it('at SERVER_MAX_CONNECTIONS admits a newcomer in place of a lingering connection of any address', async () => {
    await start(2, 100);
    const held = [await lingering('127.0.0.2'), await lingering('127.0.0.3')];
    const lingeringSince = performance.now();

    const givenUp = await admitInPlaceOf('127.0.0.4', held);

    expect(performance.now() - lingeringSince).toBeLessThan(LINGER_MS);
    expect(held[1 - givenUp]!.isClosed()).toBe(false);
    expect(await refusedCount('max_connections')).toBe(0);
    await expectLingeringClosedFrom(`127.0.0.${2 + givenUp}`);
  });

  // Regression (review): the caps heard of a lingering connection from a listener they added to every
  // connection they admitted, though few ever linger: ~240 bytes more held for each while it was open.
  it('adds no listener to a connection that never lingers but the one that releases its place', async () => {
    const uncapped = await startReceiver();
    onTestFinished(() => uncapped.close());
    await start(100, 100);

    const listeners = [];
    for (const each of [uncapped, receiver!]) {
      const connection = await openRaw(each.port);
      connections.push(connection);
      connection.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await expect.poll(() => statusLines(connection)).toEqual(['HTTP/1.1 200']);
      listeners.push(servedListeners(each.server));
    }

    const [without, capped] = listeners;
    expect(capped).toEqual({ ...without, close: without!['close']! + 1 });
  });

  it("at SERVER_MAX_CONNECTIONS_PER_ADDRESS refuses a newcomer whose address has no lingering connection, another address's lingering on", async () => {
    await start(100, 1);
    await open('127.0.0.2');
    const others = await lingering('127.0.0.3');

    const refused = await open('127.0.0.2');
    refused.write(POST);
    await refused.closed;

    expect(statusLines(refused)).toEqual(['HTTP/1.1 503']);
    expect(others.isClosed()).toBe(false);
    expect(await refusedCount('max_connections_per_address')).toBe(1);
    expect(await refusedCount('lingering')).toBe(0);
  });

  // Regression guard (838bacc dropped it from linger-close.test.ts): a linger that ends on its own,
  // its client silent until LINGER_MS pass, frees its place at the cap, and frees it once only.
  it.each([
    ['SERVER_MAX_CONNECTIONS', 1, 100, 'max_connections'],
    ['SERVER_MAX_CONNECTIONS_PER_ADDRESS', 100, 1, 'max_connections_per_address'],
  ])(
    'at %s admits one newcomer once a lingering connection whose client stays silent has lingered LINGER_MS, and refuses the next',
    async (_name, maxConnections, maxConnectionsPerAddress, reason) => {
      await start(maxConnections, maxConnectionsPerAddress);
      const silent = await openLingering(receiver!.port, '127.0.0.2');
      connections.push(silent);
      const answeredAt = performance.now();

      // The receiver's side is closed by LINGER_MS's timer (its client never closes, so cannot tell).
      await expect
        .poll(() => openConnections(receiver!.server), { timeout: LINGER_MS + 3000, interval: 50 })
        .toBe(0);
      expect(performance.now() - answeredAt).toBeGreaterThan(LINGER_MS - 500);
      const admitted = await open('127.0.0.2');
      admitted.write(POST);
      await expect.poll(() => statusLines(admitted)).toEqual(['HTTP/1.1 202']);
      const refused = await open('127.0.0.2');
      refused.write(POST);
      await refused.closed;

      expect(statusLines(refused)).toEqual(['HTTP/1.1 503']);
      expect(admitted.isClosed()).toBe(false);
      expect(await refusedCount(reason)).toBe(1);
      // It lingered to its end: not closed to make room.
      expect(await refusedCount('lingering')).toBe(0);
    },
  );
});

describe('limitConnections with its own event loop in a long poll phase', () => {
  // Regression: a connection was silent SILENT_MS after its admission counted up to the sweep, and
  // Node's headers time from the connection, though a request that came while the loop was in a
  // long poll phase (a handshake storm at the cap, a long callback) is read only in the next one, after
  // the sweep: the sensor was closed unanswered and counted nowhere.
  it('at SERVER_MAX_CONNECTIONS keeps a connection whose request came while the loop was busy', async () => {
    const { port } = await start(2, 10);
    // The sensor, another process: connected, and sending its alert 100 ms after it is told to.
    const sensor = spawn(
      process.execPath,
      [
        '-e',
        `const socket = require('node:net').connect({ port: ${port}, host: '127.0.0.1', localAddress: '127.0.0.2' });
        let text = '';
        const done = (what) => { console.log(JSON.stringify(what)); process.exit(0); };
        socket.on('data', (chunk) => { text += chunk; if (text.includes('\\r\\n')) done(text.split('\\r\\n')[0]); });
        socket.on('close', () => done(text.split('\\r\\n')[0] || 'closed'));
        socket.on('error', () => {});
        socket.on('connect', () => console.log('"connected"'));
        process.stdin.once('data', () => setTimeout(() => socket.write(${JSON.stringify(POST)}), 100));
        setTimeout(() => done(text.split('\\r\\n')[0] || 'no answer'), 3000);`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    sensor.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise((resolve) => sensor.once('exit', resolve));
    await expect.poll(() => out).toContain('connected');
    await open('127.0.0.3');
    await delay(300);
    await sendWhileLoopBusy(sensor, '127.0.0.4');
    await exited;
    expect(out.trim().split('\n').at(-1)).toBe('"HTTP/1.1 202 Accepted"');
    expect(await refusedCount('max_connections')).toBe(1);
  });
  // Regression: a kept-alive connection was quiet once a sweep KEPT_ALIVE_QUIET_MS before this one
  // had seen it so, though its next request, sent while the loop was in a long poll phase, is read
  // only after this sweep: the sensor's connection was closed with its next alert unread.
  it('at SERVER_MAX_CONNECTIONS keeps a kept-alive connection whose next request came while the loop was busy', async () => {
    const { port } = await start(2, 10);
    // The sensor: an alert at once, the next on the same connection 100 ms after it is told to.
    const sensor = spawn(
      process.execPath,
      [
        '-e',
        `const socket = require('node:net').connect({ port: ${port}, host: '127.0.0.1', localAddress: '127.0.0.2' });
        let text = '';
        const lines = () => text.match(/^HTTP\\/1\\.1 \\d{3}[^\\r]*/gm) ?? [];
        const done = (what) => { console.log(JSON.stringify(what)); process.exit(0); };
        socket.on('data', (chunk) => { text += chunk; if (lines().length === 1 && !socket.first) { socket.first = true; console.log('"first"'); } if (lines().length === 2) done(lines()[1]); });
        socket.on('close', () => done('closed'));
        socket.on('error', () => {});
        socket.on('connect', () => socket.write(${JSON.stringify(POST)}));
        process.stdin.once('data', () => setTimeout(() => socket.write(${JSON.stringify(POST)}), 100));
        setTimeout(() => done('no answer'), 5000);`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    sensor.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise((resolve) => sensor.once('exit', resolve));
    await expect.poll(() => out).toContain('first');
    // At the cap: the first sweep sees the sensor kept alive and quiet, its follow-up closes the
    // silent one (and ends there); a silent one takes its place.
    const silent = await open('127.0.0.3');
    await delay(SILENT_MS + 50);
    connections.push(await open('127.0.0.4'));
    await silent.closed;
    await open('127.0.0.5');
    await delay(KEPT_ALIVE_QUIET_MS);
    await sendWhileLoopBusy(sensor, '127.0.0.6');
    await exited;
    expect(out.trim().split('\n').at(-1)).toBe('"HTTP/1.1 202 Accepted"');
  });
});

describe.runIf(hasOpenssl)('limitConnections on the TLS listener', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await makeTestPki('falco-node-1');
  });
  afterAll(() => {
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  // What a sensor does: a whole handshake and its alert.
  const postOverTls = (port: number) =>
    new Promise<number | string>((resolve) => {
      const body = ALERT;
      https
        .request(
          {
            host: '127.0.0.1',
            port,
            path: '/alerts',
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            ca: readFileSync(pki.caCert),
            agent: false,
            localAddress: '127.0.0.9',
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
        .on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
        .end(body);
    });

  // Regression: before its handshake was done a TLS connection was in no list the sweep read, so a
  // silent one and a stalled handshake held their descriptors until the handshake timeout (10 s),
  // and every sensor meanwhile was refused.
  it('at SERVER_MAX_CONNECTIONS closes a silent connection and a handshake slower than SLOW_HEADERS_MS, so the next sensor gets in', async () => {
    receiver = await startReceiver({
      limits: connectionLimits(2, 10),
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
    const port = receiver.tlsPort!;
    const silent = await openRaw(port, '127.0.0.2');
    const stalled = await openRaw(port, '127.0.0.3');
    connections.push(silent, stalled);
    // The first bytes of a ClientHello's record, and nothing more.
    stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01]));
    await delay(SLOW_HEADERS_MS + 100);

    // Refused (at the cap), and room made for the next.
    expect(typeof (await postOverTls(port))).toBe('string');
    await Promise.all([silent.closed, stalled.closed]);
    expect(await postOverTls(port)).toBe(202);
    expect(await refusedCount('max_connections')).toBe(1);
    expect(await refusedCount('slow_headers')).toBe(1);
    // Closed by the caps, not failed by the client: no handshake failure counted.
    expect(await receiver.metricsText()).toMatch(
      /^falco_tls_handshake_failures_total\{reason="handshake"\} 0$/m,
    );
    expect(refusalLines()).toContainEqual(
      expect.objectContaining({ level: 'warn', reason: 'slow_headers', caller: '127.0.0.3' }),
    );
  });

  // Regression (review): as on the plain listener, each connection admitted got a listener of its own
  // for the lingering index (on its TLS socket), though few ever linger. The cap's own is on the raw socket.
  it('adds no listener to the TLS socket of a connection that never lingers', async () => {
    const tls = { certFile: pki.serverCert, keyFile: pki.serverKey };
    const uncapped = await startReceiver({ tls });
    onTestFinished(() => uncapped.close());
    receiver = await startReceiver({ limits: connectionLimits(100, 100), tls });

    const listeners = [];
    for (const each of [uncapped, receiver]) {
      const tlsSocket = tlsConnect({
        host: '127.0.0.1',
        port: each.tlsPort!,
        ca: readFileSync(pki.caCert),
        servername: 'localhost',
      });
      onTestFinished(() => void tlsSocket.destroy());
      let received = '';
      tlsSocket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      tlsSocket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await expect.poll(() => received).toMatch(/^HTTP\/1\.1 200 /);
      listeners.push(servedListeners(each.tlsServer!));
    }

    expect(listeners[1]).toEqual(listeners[0]);
  });

  // The close lingers on the TLS socket, where the cap admitted the raw one beneath it.
  it('at SERVER_MAX_CONNECTIONS admits a sensor in place of a connection lingering after its answer', async () => {
    receiver = await startReceiver({
      limits: connectionLimits(2, 10),
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
    const port = receiver.tlsPort!;
    const held = await Promise.all(
      ['127.0.0.2', '127.0.0.3'].map(async (localAddress) => {
        const raw = await openRaw(port, localAddress, true);
        connections.push(raw);
        const tlsSocket = tlsConnect({
          socket: raw.socket,
          ca: readFileSync(pki.caCert),
          servername: 'localhost',
        });
        tlsSocket.on('error', () => undefined);
        let received = '';
        tlsSocket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
        await new Promise((resolve) => tlsSocket.once('secureConnect', resolve));
        const answered = new Promise((resolve) => tlsSocket.once('end', resolve));
        tlsSocket.write('POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4194304\r\n\r\nabc');
        await answered;
        // A byte every 50 ms: the server's close of it comes back as a reset.
        const timer = setInterval(() => tlsSocket.writable && tlsSocket.write('x'), 50);
        void raw.closed.then(() => clearInterval(timer));
        return { raw, received: () => received };
      }),
    );

    expect(await postOverTls(port)).toBe(202);
    const givenUp = await Promise.race(held.map(({ raw }, at) => raw.closed.then(() => at)));
    expect(held[1 - givenUp]!.raw.isClosed()).toBe(false);
    for (const { received } of held) expect(received()).toMatch(/^HTTP\/1\.1 404 /);
    expect(await refusedCount('max_connections')).toBe(0);
    await expectLingeringClosedFrom(`127.0.0.${2 + givenUp}`);
  });
});

describe.runIf(hasOpenssl)('limitConnections on the TLS listener, its own event loop late', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await makeTestPki('falco-node-1');
  });
  afterAll(() => {
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  // Regression: a handshake was "slow" SLOW_HEADERS_MS after the connection was admitted, whoever
  // was late: with the receiver's own loop busy (a handshake storm, a long GC, CPU throttling) a
  // sensor's ClientHello read only then and answered was closed at the next sweep as slow_headers
  // before the sensor could send its Finished, and its alert was lost.
  it('at SERVER_MAX_CONNECTIONS keeps a handshake the receiver itself was late to answer', async () => {
    receiver = await startReceiver({
      limits: connectionLimits(2, 10),
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
    const port = receiver.tlsPort!;
    const sensor = await openRaw(port, '127.0.0.2');
    const other = await openRaw(port, '127.0.0.3');
    connections.push(sensor, other);
    await delay(50);
    // A sensor's handshake and alert on it: its status line, or how the connection ended.
    const answered = new Promise<string>((resolve) => {
      const tlsSocket = tlsConnect({
        socket: sensor.socket,
        ca: readFileSync(pki.caCert),
        servername: 'localhost',
      });
      let text = '';
      tlsSocket.once('secureConnect', () => tlsSocket.write(POST));
      tlsSocket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.includes('\r\n')) resolve(text.slice(0, text.indexOf('\r\n')));
      });
      tlsSocket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      tlsSocket.once('close', () => resolve('closed'));
    });
    // The next sensor's connection, refused at the cap, makes the listener sweep.
    const refused = openRaw(port, '127.0.0.4');
    // The receiver's loop busy for longer than SLOW_HEADERS_MS (after the connect above is made): the
    // ClientHello waits unread, and the refused connection is taken in the same turn.
    await new Promise<void>((resolve) =>
      process.nextTick(() => {
        const until = Date.now() + SLOW_HEADERS_MS + 150;
        while (Date.now() < until);
        resolve();
      }),
    );
    connections.push(await refused);
    expect(await answered).toBe('HTTP/1.1 202 Accepted');
    expect(await refusedCount('max_connections')).toBe(1);
    // The silent one made room; the sensor was not slow.
    expect(await refusedCount('slow_headers')).toBe(0);
  });
});

describe.runIf(hasOpenssl)('limitConnections on the TLS listener, below its cap again', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await makeTestPki('falco-node-1');
  });
  afterAll(() => {
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  // Regression: the second look at a handshake spared at the cap took in every handshake under way
  // then, and looked again at those a second later, and so on: below the cap, with handshakes
  // always under way, it ran every second for good (each time over every connection) and closed
  // as slow_headers a handshake begun below the cap, which only the handshake timeout closes.
  it('after the cap, closes only the handshakes a sweep at the cap spared', async () => {
    receiver = await startReceiver({
      limits: connectionLimits(3, 10),
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
    const port = receiver.tlsPort!;
    const clientHelloStart = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01]);
    const spared = await openRaw(port, '127.0.0.2');
    const silent = [await openRaw(port, '127.0.0.3'), await openRaw(port, '127.0.0.4')];
    connections.push(spared, ...silent);
    spared.write(clientHelloStart);
    await delay(SILENT_MS + 100);
    // Refused at the cap: the sweep spares the handshake, its follow-up closes the silent ones.
    connections.push(await openRaw(port, '127.0.0.5'));
    await Promise.all(silent.map((connection) => connection.closed));
    // Below the cap: a handshake begun now, stalled past the spared one's second look and more.
    await delay(SLOW_HEADERS_MS / 2);
    const later = await openRaw(port, '127.0.0.6');
    connections.push(later);
    later.write(clientHelloStart);
    await spared.closed;
    let closed = false;
    void later.closed.then(() => (closed = true));
    await delay(2 * SLOW_HEADERS_MS + 200);
    expect(closed).toBe(false);
    expect(await refusedCount('slow_headers')).toBe(1);
  });
});
