import { readFileSync, rmSync } from 'node:fs';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeTestPki, type TestPki } from '../helpers/make-certificates.js';
import { MountedSecret } from '../helpers/mounted-secret.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';
import { until } from '../helpers/until.js';

const hasOpenssl = requireComponent('openssl', commandWorks('openssl', ['version']));
const CLIENT_CN = 'falco-node-1';
const CHECK_MS = 100;

/**
 * A TLS 1.2 connection that asks for `times` renegotiations one after another: how many the
 * listener went through, and the error that ended them.
 */
function renegotiate(port: number, pki: TestPki, times: number): Promise<{ done: number; error?: string }> {
  return new Promise((resolve) => {
    let done = 0;
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      maxVersion: 'TLSv1.2',
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
    });
    const end = (error?: string) => {
      socket.destroy();
      resolve({ done, ...(error ? { error } : {}) });
    };
    const next = () => {
      if (done === times) return end();
      socket.renegotiate({ rejectUnauthorized: true }, (error) => {
        if (error) return end((error as NodeJS.ErrnoException).code ?? error.message);
        done += 1;
        next();
      });
    };
    socket.once('secureConnect', next);
    socket.on('error', (error: NodeJS.ErrnoException) => end(error.code ?? error.message));
    socket.on('close', () => end('closed'));
  });
}

// A renegotiation is a full handshake on a connection already counted: Node lets a client ask for
// three of them every ten minutes per connection, so a connection cost the listener four
// handshakes (1 ms of CPU each with a P-256 key, more with RSA) within one slot of its caps.
describe.runIf(hasOpenssl)('TLS listener: renegotiation asked by the client', () => {
  let pki: TestPki;
  let renewed: TestPki;
  let mount: MountedSecret;
  let receiver: TestReceiver | undefined;

  beforeAll(async () => {
    pki = await makeTestPki(CLIENT_CN);
    renewed = await makeTestPki(CLIENT_CN);
    mount = new MountedSecret();
  });
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });
  afterAll(() => {
    for (const dir of [pki?.dir, renewed?.dir, mount?.dir])
      if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is refused on a TLS 1.2 connection, as it is after the certificate files were reloaded', async () => {
    mount.write({ 'tls.crt': pki.serverCert, 'tls.key': pki.serverKey, 'ca.crt': pki.caCert });
    receiver = await startReceiver({
      tls: {
        certFile: mount.path('tls.crt'),
        keyFile: mount.path('tls.key'),
        clientCaFile: mount.path('ca.crt'),
        reloadCheckMs: CHECK_MS,
      },
    });
    const port = receiver.tlsPort!;

    const atStart = await renegotiate(port, pki, 3);
    // The renewed files: setSecureContext takes every context option anew.
    mount.write({ 'tls.crt': renewed.serverCert, 'tls.key': renewed.serverKey, 'ca.crt': renewed.caCert });
    await until(
      async () => /falco_tls_reloads_total\{result="reloaded"\} 1/.test(await receiver!.metricsText()),
      5_000,
      'the reload',
    );
    const afterReload = await renegotiate(port, renewed, 3);

    expect(atStart).toEqual({ done: 0, error: 'ERR_SSL_NO_RENEGOTIATION' });
    expect(afterReload).toEqual({ done: 0, error: 'ERR_SSL_NO_RENEGOTIATION' });
  });
});
