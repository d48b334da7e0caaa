import { readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeTestPki, type TestPki } from '../helpers/make-certificates.js';
import { openRaw } from '../helpers/raw-connection.js';
import { buildService, killSpawned, spawnService } from '../helpers/spawn-service.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';
import { until } from '../helpers/until.js';

const ALERT = readFileSync(
  join(import.meta.dirname, '../fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json'),
  'utf8',
);
const CLIENT_CN = 'falco-node-1';
const hasOpenssl = requireComponent('openssl', commandWorks('openssl', ['version']));

type Outcome = { status: number; body: string; headers: http.IncomingHttpHeaders } | { error: string };

/** Holds a request's body back: `inFlight` runs once the route reads it (100 Continue), the body goes at `release`. */
interface HeldBody {
  inFlight: () => void;
  release: Promise<void>;
}

// What libcurl does with Falco's http_output.ca_cert, client_cert and client_key (and with
// Expect: 100-continue, which it sends before a large body, when `held`).
function postOverTls(
  port: number,
  pki: TestPki,
  client?: { cert: string; key: string },
  held?: HeldBody,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/alerts',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'falcosecurity/falco',
          ...(held ? { expect: '100-continue', 'content-length': Buffer.byteLength(ALERT) } : {}),
        },
        ca: readFileSync(pki.caCert),
        ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    if (!held) return req.end(ALERT);
    req.once('continue', () => {
      held.inFlight();
      void held.release.then(() => req.end(ALERT));
    });
    req.flushHeaders();
  });
}

describe.runIf(hasOpenssl)(
  'TLS listener with client-certificate verification (Falco http_output.mtls)',
  () => {
    let pki: TestPki;
    let receiver: TestReceiver;
    let main: string;
    const alertLines = () => receiver.logLines.filter((line) => line.event === 'falco_alert');
    // The built service's TLS listener as the receiver's, from the environment.
    const serviceEnv = () => ({
      TLS_PORT: '0',
      TLS_CERT_FILE: pki.serverCert,
      TLS_KEY_FILE: pki.serverKey,
      TLS_CLIENT_CA_FILE: pki.caCert,
      INGEST_REQUIRE_CLIENT_CERT: 'true',
    });

    beforeAll(async () => {
      pki = await makeTestPki(CLIENT_CN);
      // The last test runs the built service.
      main = await buildService('mtls');
      receiver = await startReceiver({
        tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caCert },
        requireClientCert: true,
      });
    });
    afterEach(killSpawned);
    afterAll(async () => {
      await receiver?.close();
      if (pki) rmSync(pki.dir, { recursive: true, force: true });
    });

    it('accepts an alert from a client certificate signed by the CA and logs its CN', async () => {
      const outcome = await postOverTls(receiver.tlsPort!, pki, { cert: pki.clientCert, key: pki.clientKey });

      expect(outcome).toMatchObject({ status: 202 });
      const id = (outcome as { headers: http.IncomingHttpHeaders }).headers['x-alert-id'];
      expect(alertLines().find((line) => line.alertId === id)).toMatchObject({ client: { cn: CLIENT_CN } });
    });

    it.each([
      ['without a certificate', undefined],
      ['whose certificate another CA signed', 'rogue'],
    ])('refuses the handshake of a client %s', async (_name, client) => {
      const before = alertLines().length;
      const outcome = await postOverTls(
        receiver.tlsPort!,
        pki,
        client ? { cert: pki.rogueCert, key: pki.rogueKey } : undefined,
      );

      expect(outcome).toHaveProperty('error');
      expect(alertLines()).toHaveLength(before);
    });

    it('refuses ingest on the plain listener with 401 while health stays open there', async () => {
      const plain = `http://127.0.0.1:${receiver.port}`;
      const ingest = await fetch(`${plain}/alerts`, {
        method: 'POST',
        body: ALERT,
        headers: { 'content-type': 'application/json' },
      });
      const health = await fetch(`${plain}/healthz`);

      expect(ingest.status).toBe(401);
      expect(await ingest.json()).toMatchObject({
        type: 'urn:falco-alert-receiver:problem:ingest-unauthorized',
      });
      expect(health.status).toBe(200);
      expect(await receiver.metricsText()).toMatch(
        /falco_ingest_unauthorized_total\{reason="client_cert"\} 1/,
      );
    });

    it('is wired from the environment in the built service, which drains both listeners on SIGTERM', async () => {
      const service = await spawnService(serviceEnv(), { main });
      // `listening` is logged once every listener is up, after `listening_tls`.
      const tlsLine = service.lines.find((line) => line.event === 'listening_tls');
      expect(tlsLine).toMatchObject({ mtls: true });

      const outcome = await postOverTls(tlsLine!.port as number, pki, {
        cert: pki.clientCert,
        key: pki.clientKey,
      });
      service.child.kill('SIGTERM');

      expect(outcome).toMatchObject({ status: 202 });
      expect(await service.exited).toBe(0);
      expect(service.lines.find((line) => line.event === 'falco_alert')).toMatchObject({
        client: { cn: CLIENT_CN },
      });
    });

    // Node lists a TLS connection among its own only once the handshake is done: one still in it
    // held the shutdown until SHUTDOWN_TIMEOUT_MS (drained:false, exit 1), where the same silent
    // client on the plain port is closed at once.
    it('closes a connection still in its TLS handshake at once on SIGTERM, and finishes a TLS request in flight', async () => {
      const service = await spawnService({ ...serviceEnv(), SHUTDOWN_TIMEOUT_MS: '10000' }, { main });
      const tlsPort = service.lines.find((line) => line.event === 'listening_tls')!.port as number;
      // A TCP probe that stays, or a sensor whose ClientHello never comes: connected, nothing sent.
      // Opened first, so the service has taken it by the time the request below is in flight.
      const silent = await openRaw(tlsPort);
      let release = () => {};
      let inFlight = () => {};
      const reading = new Promise<void>((resolve) => (inFlight = resolve));
      const outcome = postOverTls(
        tlsPort,
        pki,
        { cert: pki.clientCert, key: pki.clientKey },
        { inFlight, release: new Promise((resolve) => (release = resolve)) },
      );
      await reading;

      const started = performance.now();
      service.child.kill('SIGTERM');
      await Promise.race([silent.closed, service.exited]);
      release();
      const code = await service.exited;
      const elapsedMs = performance.now() - started;

      expect(await outcome).toMatchObject({ status: 202 });
      expect(code).toBe(0);
      expect(elapsedMs).toBeLessThan(5_000);
      expect(service.lines).toContainEqual(
        expect.objectContaining({ event: 'shutdown_complete', drained: true }),
      );
      // Closed by the service, not failed by the client: no tls_handshake_failed line.
      expect(service.lines.filter((line) => line.event === 'tls_handshake_failed')).toEqual([]);
    });
  },
);

// Each sensor refused in the handshake loses every alert (Falco ignores the failure, and no request
// exists to count): counted by reason and logged with the code and the caller, which
// FalcoTlsHandshakeFailed turns into an alert. A fresh receiver per case: each reason's first line
// is written at once, later ones at most every 10 s.
describe.runIf(hasOpenssl)('failed TLS handshakes (counted and logged)', () => {
  let pki: TestPki;
  let receiver: TestReceiver | undefined;
  const LIMITS = {
    headersTimeoutMs: 300,
    requestTimeoutMs: 5000,
    keepAliveTimeoutMs: 5000,
    stallTimeoutMs: 30_000,
    maxRequestsPerSocket: 0,
    maxHeaderBytes: 16_384,
    maxConnections: 10_000,
    maxConnectionsPerAddress: 256,
  };
  const start = async () => {
    receiver = await startReceiver({
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caCert },
      requireClientCert: true,
      limits: LIMITS,
    });
    return receiver;
  };
  const counts = async (of: TestReceiver) =>
    Object.fromEntries(
      [
        ...(await of.metricsText()).matchAll(/falco_tls_handshake_failures_total\{reason="(\w+)"\} (\d+)/g),
      ].map(([, reason, count]) => [reason, Number(count)]),
    );
  const failureLines = (of: TestReceiver) =>
    of.logLines.filter((line) => line.event === 'tls_handshake_failed');
  // Node reports a refused client certificate after the client has seen the handshake fail.
  const logged = (of: TestReceiver, count: number) =>
    until(async () => failureLines(of).length >= count, 5_000, 'the tls_handshake_failed line');
  const plainHttp = (port: number) =>
    fetch(`http://127.0.0.1:${port}/alerts`, { method: 'POST', body: ALERT }).catch(
      (error: unknown) => error,
    );

  beforeAll(async () => {
    pki = await makeTestPki(CLIENT_CN);
  });
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });
  afterAll(() => {
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it.each([
    ['a client without a certificate', 'client_cert', 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'],
    ['a client certificate another CA signed', 'client_cert', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    // A Falco whose http_output.ca_cert does not hold the CA that signed the receiver's certificate.
    [
      "a client that does not trust the receiver's certificate",
      'server_cert',
      'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
    ],
    ['plain HTTP sent to the TLS port', 'handshake', 'ERR_SSL_HTTP_REQUEST'],
  ])('counts and logs %s', async (name, reason, code) => {
    const at = await start();
    const outcome =
      reason === 'handshake'
        ? await plainHttp(at.tlsPort!)
        : reason === 'server_cert'
          ? // libcurl, as Falco runs it, checks the server's certificate in the handshake and
            // sends an alert when it fails; so does openssl. (Node's client checks it after.)
            await execa(
              'openssl',
              [
                's_client',
                '-connect',
                `127.0.0.1:${at.tlsPort}`,
                '-CAfile',
                pki.rogueCaCert,
                '-verify_return_error',
                '-cert',
                pki.clientCert,
                '-key',
                pki.clientKey,
              ],
              { input: '', reject: false, timeout: 10_000 },
            ).then((result) => ({ error: result.exitCode }))
          : await postOverTls(
              at.tlsPort!,
              pki,
              name.includes('another CA') ? { cert: pki.rogueCert, key: pki.rogueKey } : undefined,
            );
    await logged(at, 1);

    expect(outcome instanceof Error || 'error' in (outcome as object)).toBe(true);
    expect(await counts(at)).toEqual({
      client_cert: 0,
      server_cert: 0,
      handshake: 0,
      [reason]: 1,
    });
    expect(failureLines(at)).toEqual([
      expect.objectContaining({
        level: 'warn',
        reason,
        count: 1,
        callers: [{ caller: '127.0.0.1', code, count: 1 }],
      }),
    ]);
  });

  it('counts neither a client that connects and leaves nor one silent until the handshake timeout, but one that began its handshake', async () => {
    const at = await start();
    // A TCP probe (a kubelet's tcpSocket, a port scan): connects and leaves.
    await new Promise<void>((resolve) => {
      const probe = net.connect(at.tlsPort!, '127.0.0.1', () => probe.end());
      probe.on('close', () => resolve());
    });
    // Silent, and one that sends the first bytes of a ClientHello, both held past the 300 ms the
    // handshake gets (SERVER_HEADERS_TIMEOUT_MS), where Node's own timeout was 120 s.
    const held = (first?: Buffer) =>
      new Promise<number>((resolve) => {
        const began = Date.now();
        const socket = net.connect(at.tlsPort!, '127.0.0.1', () => first && socket.write(first));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(Date.now() - began));
      });
    const heldFor = await Promise.all([held(), held(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01]))]);
    await logged(at, 1);
    // One more round trip to the process: whatever the others made it do has happened by now.
    await fetch(`http://127.0.0.1:${at.port}/healthz`);

    expect(Math.max(...heldFor)).toBeLessThan(3_000);
    expect(await counts(at)).toEqual({ client_cert: 0, server_cert: 0, handshake: 1 });
    expect(failureLines(at)).toEqual([
      expect.objectContaining({
        reason: 'handshake',
        count: 1,
        callers: [{ caller: '127.0.0.1', code: 'ERR_TLS_HANDSHAKE_TIMEOUT', count: 1 }],
      }),
    ]);
  });

  it('logs a flood of failed handshakes as its first line and then its count, every one counted, naming ten callers', async () => {
    const at = await start();
    // HTTP sent to the TLS port from 127.0.0.1 (40 times), then from twelve other loopback addresses.
    const fromAddress = async (localAddress: string) => {
      const connection = await openRaw(at.tlsPort!, localAddress);
      connection.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await connection.closed;
    };
    for (let i = 0; i < 40; i++) await plainHttp(at.tlsPort!);
    for (let i = 2; i < 14; i++) await fromAddress(`127.0.0.${i}`);
    await logged(at, 1);
    await fetch(`http://127.0.0.1:${at.port}/healthz`);

    expect((await counts(at)).handshake).toBe(52);
    expect(failureLines(at)).toHaveLength(1);
    // The listener closing writes what the period held back: the lines add up to the count. A client
    // failing all the time cannot hide the others: ten callers by name, the rest counted.
    await at.close();
    receiver = undefined;
    const [, held] = failureLines(at);
    expect(failureLines(at).map((line) => line.count)).toEqual([1, 51]);
    expect(held).toMatchObject({ otherCallers: 3 });
    expect(held!.callers).toEqual([
      { caller: '127.0.0.1', code: 'ERR_SSL_HTTP_REQUEST', count: 39 },
      ...Array.from({ length: 9 }, (_, i) => ({
        caller: `127.0.0.${i + 2}`,
        code: 'ERR_SSL_HTTP_REQUEST',
        count: 1,
      })),
    ]);
  });

  // A shutdown past its deadline exits before the listener has closed: the held-back count is
  // written at exit, so the lines still add up to the metric.
  it('writes the held-back count when a shutdown times out', async () => {
    const main = await buildService('mtls-exit');
    const service = await spawnService(
      {
        TLS_PORT: '0',
        TLS_CERT_FILE: pki.serverCert,
        TLS_KEY_FILE: pki.serverKey,
        TLS_CLIENT_CA_FILE: pki.caCert,
        SHUTDOWN_TIMEOUT_MS: '1000',
      },
      { main },
    );
    const tlsPort = service.lines.find((line) => line.event === 'listening_tls')!.port as number;
    for (let i = 0; i < 3; i++) await plainHttp(tlsPort);
    // A request whose body never comes holds the shutdown to its deadline.
    let inFlight = () => {};
    const reading = new Promise<void>((resolve) => (inFlight = resolve));
    void postOverTls(
      tlsPort,
      pki,
      { cert: pki.clientCert, key: pki.clientKey },
      {
        inFlight,
        release: new Promise(() => {}),
      },
    );
    await reading;
    service.child.kill('SIGTERM');

    expect(await service.exited).toBe(1);
    const lines = service.lines.filter((line) => line.event === 'tls_handshake_failed');
    expect(lines.map((line) => line.count)).toEqual([1, 2]);
  });
});
