import { readFileSync } from 'node:fs';
import net from 'node:net';
import { constants } from 'node:os';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { trackConnections } from '../../src/server/connection-tracker.js';
import { resetConnection } from '../../src/server/reset-connection.js';
import { makeTestPki } from '../helpers/make-certificates.js';
import { openRaw, type RawConnection } from '../helpers/raw-connection.js';
import { serverSockets } from '../helpers/server-sockets.js';
import { connectionLimits, startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const KiB = 1024;

const alertOf = (index: number, size: number) =>
  JSON.stringify({
    rule: `Unread ${index}`,
    priority: 'Notice',
    time: '2026-12-07T09:00:00.000000000Z',
    output: 'x'.repeat(size),
  });

async function postAlerts(port: number, count: number, size: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const res = await fetch(`http://127.0.0.1:${port}/alerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: alertOf(index, size),
    });
    expect(res.status).toBe(202);
  }
}

// A client that asks and never reads: its socket paused, its side kept open, so its kernel goes on
// acknowledging the server's window probes.
async function askWithoutReading(port: number, request: string): Promise<RawConnection> {
  const connection = await openRaw(port);
  // Paused at its first read: one poll later, it had read megabytes, and its kernel's receive
  // buffer (grown as the client read) took the rest.
  const answered = new Promise((resolve) => connection.socket.once('data', resolve));
  connection.socket.once('data', () => connection.socket.pause());
  connection.write(request);
  await answered;
  return connection;
}

// `count` connections that asked for a 3.3 MB list and never read it, alone at the caps: fetch's
// kept-alive connection, which posted its alerts, closed.
async function askListsWithoutReading(receiver: TestReceiver, count: number): Promise<RawConnection[]> {
  await postAlerts(receiver.port, 4, 800 * KiB);
  receiver.server.closeIdleConnections();
  const asked: RawConnection[] = [];
  for (let index = 0; index < count; index++)
    asked.push(await askWithoutReading(receiver.port, 'GET /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
  return asked;
}

// A client that asks and reads its answer, pausing for `pauseMs` after the first read: resolves
// with all it read once the server has closed the connection.
async function readPausing(
  socket: tls.TLSSocket | RawConnection['socket'],
  request: string,
  pauseMs: number,
) {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.once('data', () => {
    socket.pause();
    setTimeout(() => socket.resume(), pauseMs);
  });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write(request);
  await closed;
  return text;
}

// The rule, the end of a chunked answer, of each alert the list it reads holds.
const listed = (answer: string) => ({
  rules: [...answer.matchAll(/"rule":"(Unread \d)"/g)].map(([, rule]) => rule).sort(),
  whole: answer.endsWith('\r\n0\r\n\r\n'),
});

// Regression (probe of 2026-12-07): a connection the receiver closed while its client read nothing
// was closed with a FIN queued behind what the kernel still held for it, up to its send buffer
// (4 MiB): each stayed in FIN-WAIT-1 for as long as its client acknowledged the window probes,
// outside every connection cap and budget (its descriptor closed, its slot freed). One address
// asking for 3.4 MB lists on 200 connections it never read held 600 MB of kernel memory in 28 s;
// waves of 100 live streams cut off for not reading, 73 MB each, 441 MB after six.
describe('connections the receiver closes on clients that do not read', () => {
  let receiver: TestReceiver | undefined;
  const open: RawConnection[] = [];
  afterEach(async () => {
    for (const connection of open.splice(0)) connection.socket.destroy();
    await receiver?.close();
  });

  it('resets an idle connection whose answer its client never read, at SERVER_KEEP_ALIVE_TIMEOUT_MS', async () => {
    receiver = await startReceiver({
      keepLogLines: false,
      limits: { ...connectionLimits(100, 100), keepAliveTimeoutMs: 300, stallTimeoutMs: 1000 },
    });
    await postAlerts(receiver.port, 4, 800 * KiB);
    // 3.3 MB: more than the client's receive buffer takes at first, less than the server's send
    // buffer: handed to the kernel whole, so the answer is done and the connection idle.
    open.push(await askWithoutReading(receiver.port, 'GET /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));

    await expect.poll(() => serverSockets(receiver!.port), { timeout: 4000, interval: 100 }).toEqual([]);
  });

  it('resets such a connection on the TLS listener too', async () => {
    const pki = await makeTestPki('sensor');
    receiver = await startReceiver({
      keepLogLines: false,
      limits: { ...connectionLimits(100, 100), keepAliveTimeoutMs: 300, stallTimeoutMs: 1000 },
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
    await postAlerts(receiver.port, 4, 800 * KiB);
    const socket = tls.connect({ host: '127.0.0.1', port: receiver.tlsPort!, ca: readFileSync(pki.caCert) });
    socket.on('error', () => undefined);
    const answered = new Promise((resolve) => socket.once('data', resolve));
    socket.once('data', () => socket.pause());
    socket.write('GET /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await answered;

    await expect.poll(() => serverSockets(receiver!.tlsPort!), { timeout: 4000, interval: 100 }).toEqual([]);
    socket.destroy();
  });

  // Regression: node:http times a connection's keep-alive from when its answer was handed to the
  // kernel, which may still hold megabytes of it. Reset at the timeout, a client reading slower than
  // the answer was written lost the rest of it (194 KB of a 3.3 MB list read, pausing 2.5 s), which
  // it got whole behind a FIN before.
  it('lets a client still reading its answer at SERVER_KEEP_ALIVE_TIMEOUT_MS read it whole', async () => {
    receiver = await startReceiver({
      keepLogLines: false,
      limits: { ...connectionLimits(100, 100), keepAliveTimeoutMs: 300, stallTimeoutMs: 5000 },
    });
    await postAlerts(receiver.port, 4, 800 * KiB);
    const connection = await openRaw(receiver.port);
    open.push(connection);

    const answer = await readPausing(
      connection.socket,
      'GET /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
      2500,
    );

    expect(listed(answer)).toEqual({ rules: ['Unread 0', 'Unread 1', 'Unread 2', 'Unread 3'], whole: true });
    await expect.poll(() => serverSockets(receiver!.port), { timeout: 2000, interval: 100 }).toEqual([]);
  });

  it('lets such a client read its answer whole on the TLS listener too', async () => {
    const pki = await makeTestPki('sensor');
    receiver = await startReceiver({
      keepLogLines: false,
      limits: { ...connectionLimits(100, 100), keepAliveTimeoutMs: 300, stallTimeoutMs: 5000 },
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
    await postAlerts(receiver.port, 4, 800 * KiB);
    const socket = tls.connect({ host: '127.0.0.1', port: receiver.tlsPort!, ca: readFileSync(pki.caCert) });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('secureConnect', resolve));

    const answer = await readPausing(socket, 'GET /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 2500);

    expect(listed(answer)).toEqual({ rules: ['Unread 0', 'Unread 1', 'Unread 2', 'Unread 3'], whole: true });
    await expect.poll(() => serverSockets(receiver!.tlsPort!), { timeout: 2000, interval: 100 }).toEqual([]);
  });

  it('resets such a connection as soon as its client closes its side without reading', async () => {
    receiver = await startReceiver({
      keepLogLines: false,
      limits: { ...connectionLimits(100, 100), keepAliveTimeoutMs: 300, stallTimeoutMs: 30_000 },
    });
    await postAlerts(receiver.port, 4, 800 * KiB);
    const connection = await askWithoutReading(
      receiver.port,
      'GET /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    );
    open.push(connection);
    // Past the keep-alive timeout (and node:http's second more): the receiver's FIN is queued.
    await new Promise((resolve) => setTimeout(resolve, 1600));

    connection.socket.end();

    await expect.poll(() => serverSockets(receiver!.port), { timeout: 2000, interval: 100 }).toEqual([]);
  });

  // Regression: shutdown closes the idle connections every 50 ms, and a connection is idle once its
  // answer was handed to the kernel. Reset then, a client reading its answer when the receiver was
  // told to stop lost the rest of it (194 KB of a 3.3 MB list, pausing 500 ms).
  it('lets a client still reading its answer when shutdown closes the idle connections read it whole', async () => {
    receiver = await startReceiver({ keepLogLines: false });
    const connections = trackConnections(receiver.server);
    await postAlerts(receiver.port, 4, 800 * KiB);
    const connection = await openRaw(receiver.port);
    open.push(connection);
    const read = readPausing(connection.socket, 'GET /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 500);
    await new Promise((resolve) => setTimeout(resolve, 200));

    connections.closeIdle();

    expect(listed(await read)).toEqual({
      rules: ['Unread 0', 'Unread 1', 'Unread 2', 'Unread 3'],
      whole: true,
    });
    await expect.poll(() => serverSockets(receiver!.port), { timeout: 2000, interval: 100 }).toEqual([]);
  });

  // Regression (review of 5b73aa3): the connection caps' sweeps closed what they made room with by
  // a plain destroy, a FIN behind what the kernel still held. At SERVER_MAX_CONNECTIONS_PER_ADDRESS
  // a newcomer takes the place of one of its address's connections lingering after the keep-alive
  // timeout, its unread list left in FIN-WAIT-1 and its slot freed: one address could churn its
  // cap without bound, each round leaving up to 4 MiB a connection in the kernel.
  it('resets a lingering connection whose answer its client never read, given up to a newcomer at SERVER_MAX_CONNECTIONS_PER_ADDRESS', async () => {
    receiver = await startReceiver({
      keepLogLines: false,
      limits: { ...connectionLimits(100, 2), keepAliveTimeoutMs: 300, stallTimeoutMs: 30_000 },
    });
    open.push(...(await askListsWithoutReading(receiver, 2)));
    // Past the keep-alive timeout (and node:http's second more): both linger, their FIN queued.
    await new Promise((resolve) => setTimeout(resolve, 1600));

    open.push(await openRaw(receiver.port), await openRaw(receiver.port));

    await expect
      .poll(() => receiver!.metricsText(), { timeout: 2000 })
      .toMatch(/^falco_http_connections_refused_total\{reason="lingering"\} 2$/m);
    const newcomers = [
      { state: 'ESTAB', unsent: 0 },
      { state: 'ESTAB', unsent: 0 },
    ];
    await expect
      .poll(() => serverSockets(receiver!.port), { timeout: 2000, interval: 100 })
      .toEqual(newcomers);
  });

  // Regression (review of 5b73aa3): at SERVER_MAX_CONNECTIONS the sweep closes kept-alive
  // connections quiet for KEPT_ALIVE_QUIET_MS, and closed with a FIN, an unread list stayed in
  // FIN-WAIT-1 once their slots were free.
  it('resets a kept-alive connection whose answer its client never read, swept at SERVER_MAX_CONNECTIONS', async () => {
    receiver = await startReceiver({ keepLogLines: false, limits: connectionLimits(2, 100) });
    open.push(...(await askListsWithoutReading(receiver, 2)));

    // Refused (503), it sets the sweep going: every 250 ms until both are quiet long enough.
    const refused = await openRaw(receiver.port);
    open.push(refused);
    await refused.closed;

    await expect.poll(() => serverSockets(receiver!.port), { timeout: 4000, interval: 100 }).toEqual([]);
  });

  // Regression (review of 8289504): at a cap the sweep closes first the connections whose headers
  // have been arriving for SLOW_HEADERS_MS, and closed with a FIN, a kept-alive client that left a
  // list unread and began its next request's headers left the list in FIN-WAIT-1.
  it('resets a connection swept for slow headers at SERVER_MAX_CONNECTIONS, its last answer unread', async () => {
    receiver = await startReceiver({ keepLogLines: false, limits: connectionLimits(2, 100) });
    const asked = await askListsWithoutReading(receiver, 2);
    open.push(...asked);
    for (const connection of asked) connection.write('G');
    // Past SLOW_HEADERS_MS (1 s), well before the keep-alive timeout (5 s) would close them.
    await new Promise((resolve) => setTimeout(resolve, 1300));

    const refused = await openRaw(receiver.port);
    open.push(refused);
    await refused.closed;

    await expect.poll(() => serverSockets(receiver!.port), { timeout: 2500, interval: 100 }).toEqual([]);
  });

  // Regression (review of 5b73aa3): a connection closed with a lingering close (its answer written
  // while its request's body was still arriving) was destroyed at LINGER_MS behind its FIN, and
  // what the kernel still held of an answer its client never read stayed there (FIN-WAIT-1).
  it('resets a connection lingering after an answer its client never read, at LINGER_MS', async () => {
    receiver = await startReceiver({ keepLogLines: false });
    await postAlerts(receiver.port, 4, 800 * KiB);
    // Its body still arriving when its list is answered: the connection ends once the list has left.
    open.push(
      await askWithoutReading(
        receiver.port,
        'GET /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\nabc',
      ),
    );

    await expect.poll(() => serverSockets(receiver!.port), { timeout: 4000, interval: 100 }).toEqual([]);
  });

  it('resets a reader cut off after QUERY_STALL_TIMEOUT_MS', async () => {
    receiver = await startReceiver({
      keepLogLines: false,
      env: { QUERY_STALL_TIMEOUT_MS: '400', QUERY_MAX_BYTES: String(16 * 1024 * KiB) },
    });
    await postAlerts(receiver.port, 20, 700 * KiB);
    // 14 MB: more than both kernels' buffers take, so the answer waits for its client until the
    // stall cuts it off.
    open.push(await askWithoutReading(receiver.port, 'GET /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));

    await expect
      .poll(() => receiver!.metricsText(), { timeout: 4000 })
      .toMatch(/^falco_alert_reads_refused_total\{reason="stalled"\} 1$/m);
    await expect.poll(() => serverSockets(receiver!.port), { timeout: 4000, interval: 100 }).toEqual([]);
  });

  it('resets a live-stream client cut off for not reading', async () => {
    receiver = await startReceiver({
      keepLogLines: false,
      env: { STREAM_CLIENT_MAX_BUFFERED_BYTES: String(1024 * KiB) },
    });
    open.push(
      await askWithoutReading(receiver.port, 'GET /alerts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
    );
    // 12 alerts of 700 KiB: more than the kernel's buffers and the client's bound hold.
    await postAlerts(receiver.port, 12, 700 * KiB);

    await expect
      .poll(() => receiver!.metricsText(), { timeout: 4000 })
      .toMatch(/^falco_stream_clients_dropped_total\{reason="client_buffer"\} 1$/m);
    await expect.poll(() => serverSockets(receiver!.port), { timeout: 4000, interval: 100 }).toEqual([]);
  });
});

// libuv refuses a reset while a shutdown is pending on the handle (uv_tcp_close_reset: UV_EINVAL),
// as on TLS_PORT when a close_notify waits behind a send buffer its client does not read; Node's
// Socket._destroy then emits an 'error' (thrown with no listener) and never closes the handle: its
// descriptor leaked, its 'close' never came, and with it no cap let go of its place. That state
// comes only of a race (the close_notify fits the kernel's buffer but for a few bytes), so here
// the handle's reset answers as libuv's does then.
describe('resetConnection', () => {
  let server: net.Server | undefined;
  afterEach(() => server?.close());

  it("closes a connection whose reset libuv refuses, its error neither thrown nor handed to the socket's listeners", async () => {
    server = net.createServer();
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server!.once('connection', resolve));
    const client = await openRaw((server.address() as net.AddressInfo).port);
    const socket = await accepted;
    let closed = false;
    socket.once('close', () => (closed = true));
    // As node:http's, which would take it for the client's error.
    const heard: string[] = [];
    socket.on('error', (error) => heard.push(error.message));
    const handle = (socket as unknown as { _handle: { reset: () => number } })._handle;
    handle.reset = () => -constants.errno.EINVAL;

    resetConnection(socket);

    await expect
      .poll(() => ({ closed, clientClosed: client.isClosed() }), { timeout: 2000 })
      .toEqual({ closed: true, clientClosed: true });
    expect(heard).toEqual([]);
  });
});
