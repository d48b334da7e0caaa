import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeTestPki, type TestPki } from '../helpers/make-certificates.js';
import { MountedSecret } from '../helpers/mounted-secret.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';
import { until } from '../helpers/until.js';

// Reads of the files named here fail as a process out of descriptors fails them (EMFILE), their
// stat unchanged: a read error that passes, as the reload's check must tell from files that do not load.
const failing = new Set<string>();
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof fs>();
  const readFileSync = ((file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (typeof file === 'string' && failing.has(file)) {
      const error: NodeJS.ErrnoException = new Error(`EMFILE: too many open files, open '${file}'`);
      error.code = 'EMFILE';
      throw error;
    }
    return (actual.readFileSync as (...args: unknown[]) => unknown)(file, ...rest);
  }) as typeof actual.readFileSync;
  return { ...actual, readFileSync, default: { ...actual, readFileSync } };
});

const hasOpenssl = requireComponent('openssl', commandWorks('openssl', ['version']));
const CHECK_MS = 100;

/** The certificate a new connection is served. */
function servedFingerprint(port: number, trusted: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: trusted.map((file) => fs.readFileSync(file)),
    });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.once('error', () => resolve(undefined));
  });
}

describe.runIf(hasOpenssl)('TLS listener: a read error while reloading', () => {
  let current: TestPki;
  let renewed: TestPki;
  let mount: MountedSecret | undefined;
  let receiver: TestReceiver | undefined;

  beforeAll(async () => {
    [current, renewed] = await Promise.all([makeTestPki('falco-node-1'), makeTestPki('falco-node-1')]);
  });
  afterAll(() => {
    for (const pki of [current, renewed]) if (pki) fs.rmSync(pki.dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    failing.clear();
    await receiver?.close();
    receiver = undefined;
    if (mount) fs.rmSync(mount.dir, { recursive: true, force: true });
  });

  // Regression: 6bde593 read a set of files that failed again only once they changed, a read error
  // too (745486d retried it): a renewal whose read failed once (out of descriptors under a
  // connection flood) was never served, and the old certificate was served to its expiry.
  it('reads the renewed files again at the next checks after a read error, and serves them once they read', async () => {
    mount = new MountedSecret();
    mount.write({ 'tls.crt': current.serverCert, 'tls.key': current.serverKey });
    receiver = await startReceiver({
      tls: { certFile: mount.path('tls.crt'), keyFile: mount.path('tls.key'), reloadCheckMs: CHECK_MS },
    });
    const port = receiver.tlsPort!;
    const started = receiver;

    failing.add(mount.path('tls.key'));
    mount.write({ 'tls.crt': renewed.serverCert, 'tls.key': renewed.serverKey });
    await until(
      async () => started.logLines.some((line) => line.event === 'tls_reload_failed'),
      5_000,
      'the read error reported',
    );
    failing.clear();

    const renewedFingerprint = new X509Certificate(fs.readFileSync(renewed.serverCert)).fingerprint256;
    await until(
      async () => (await servedFingerprint(port, [current.caCert, renewed.caCert])) === renewedFingerprint,
      3_000,
      'the renewed certificate served',
    );
    expect(started.logLines.filter((line) => line.event === 'tls_reload_failed')).toEqual([
      expect.objectContaining({ error: expect.stringContaining('EMFILE') }),
    ]);
    expect(await started.metricsText()).toMatch(/^falco_tls_reload_failing 0$/m);
  });
});
