import { readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeTestPki, type TestPki } from '../helpers/make-certificates.js';
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

// What libcurl does with Falco's http_output.ca_cert, client_cert and client_key.
function postOverTls(port: number, pki: TestPki, client?: { cert: string; key: string }): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/alerts',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'falcosecurity/falco' },
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
    req.end(ALERT);
  });
}

describe.runIf(hasOpenssl)(
  'TLS listener with client-certificate verification (Falco http_output.mtls)',
  () => {
    let pki: TestPki;
    let receiver: TestReceiver;
    let main: string;
    const alertLines = () => receiver.logLines.filter((line) => line.event === 'falco_alert');

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

    const failures = async (reason: string) =>
      Number(
        new RegExp(`falco_tls_handshake_failures_total\\{reason="${reason}"\\} (\\d+)`).exec(
          await receiver.metricsText(),
        )?.[1],
      );
    const failureLines = () => receiver.logLines.filter((line) => line.event === 'tls_handshake_failed');
    // Node reports a refused certificate after the client has seen the handshake fail.
    const logged = (count: number) =>
      until(async () => failureLines().length >= count, 5_000, 'the tls_handshake_failed line');

    // Each sensor refused here loses every alert (Falco ignores the failure): counted and logged
    // with the caller, which FalcoTlsHandshakeFailed turns into an alert.
    it.each([
      ['without a certificate', undefined, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'],
      ['whose certificate another CA signed', 'rogue', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ])('refuses the handshake of a client %s, counted and logged', async (_name, client, code) => {
      const before = {
        alerts: alertLines().length,
        lines: failureLines().length,
        count: await failures('client_cert'),
      };
      const outcome = await postOverTls(
        receiver.tlsPort!,
        pki,
        client ? { cert: pki.rogueCert, key: pki.rogueKey } : undefined,
      );
      await logged(before.lines + 1);

      expect(outcome).toHaveProperty('error');
      expect(alertLines()).toHaveLength(before.alerts);
      expect(await failures('client_cert')).toBe(before.count + 1);
      expect(failureLines().slice(before.lines)).toEqual([
        expect.objectContaining({ level: 'warn', reason: 'client_cert', code, caller: '127.0.0.1' }),
      ]);
    });

    it('counts plain HTTP sent to the TLS port as a failed handshake, and not a client that only connects', async () => {
      const before = { lines: failureLines().length, count: await failures('handshake') };
      // A TCP probe (a kubelet's tcpSocket, a port scan): connects and leaves.
      await new Promise<void>((resolve) => {
        const probe = net.connect(receiver.tlsPort!, '127.0.0.1', () => probe.end());
        probe.on('close', () => resolve());
      });
      const plain = await fetch(`http://127.0.0.1:${receiver.tlsPort}/alerts`, {
        method: 'POST',
        body: ALERT,
      }).catch((error: unknown) => error);
      await logged(before.lines + 1);
      // One more round trip to the process: whatever the probe made it do has happened by now.
      await fetch(`http://127.0.0.1:${receiver.port}/healthz`);

      expect(plain).toBeInstanceOf(Error);
      expect(await failures('handshake')).toBe(before.count + 1);
      expect(failureLines().slice(before.lines)).toEqual([
        expect.objectContaining({ reason: 'handshake', code: 'ERR_SSL_HTTP_REQUEST', caller: '127.0.0.1' }),
      ]);
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
      const service = await spawnService(
        {
          TLS_PORT: '0',
          TLS_CERT_FILE: pki.serverCert,
          TLS_KEY_FILE: pki.serverKey,
          TLS_CLIENT_CA_FILE: pki.caCert,
          INGEST_REQUIRE_CLIENT_CERT: 'true',
        },
        { main },
      );
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
  },
);
