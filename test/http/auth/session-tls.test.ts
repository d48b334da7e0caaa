import { readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundPort } from '../../../src/server/start-server.js';
import { startTlsServer } from '../../../src/server/start-tls-server.js';
import { commandWorks, requireComponent } from '../../helpers/components.js';
import { makeTestPki, type TestPki } from '../../helpers/make-certificates.js';
import { buildTestApp } from '../../helpers/test-app.js';
import { VIEWER_TOKEN } from './auth-test-server.js';

const hasOpenssl = requireComponent('openssl', commandWorks('openssl', ['version']));

describe.skipIf(!hasOpenssl)('the session cookie over TLS', () => {
  let pki: TestPki;
  let server: https.Server;

  beforeAll(async () => {
    pki = await makeTestPki('falco-node-1');
    const built = buildTestApp({
      env: { VIEWER_TOKEN, TLS_PORT: '0', TLS_CERT_FILE: pki.serverCert, TLS_KEY_FILE: pki.serverKey },
    });
    server = await startTlsServer(built.app, { host: '127.0.0.1', tls: built.config.hardening.tls! });
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('marks the cookie Secure when the sign-in came over TLS', async () => {
    const setCookie = await new Promise<string | undefined>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: boundPort(server),
          path: '/ui/session',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          ca: readFileSync(pki.caCert),
          servername: 'localhost',
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.headers['set-cookie']?.[0]);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ token: VIEWER_TOKEN }));
    });

    expect(setCookie).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
  });
});
