import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clientCaValidity,
  NotValidYet,
  refuseUnusableClientCa,
} from '../../src/server/client-ca-validity.js';
import { loadTlsCredentials } from '../../src/server/tls-credentials.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeDatedCertificate, makeTestPki } from '../helpers/make-certificates.js';

const hasOpenssl = requireComponent('openssl', commandWorks('openssl', ['version']));
const DAY = 86_400_000;

// FalcoTlsReloadFailed (k8s/components/prometheus-operator/prometheusrule.yaml) tells what a
// restart would do with the files a reload refused: it said "it would not start with these files",
// but the start checks no dates and serves them (so does a worker replaced with WORKERS > 1).
describe.runIf(hasOpenssl)('the TLS files at start', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('are taken with a certificate expired and a client CA bundle not valid yet, which a reload refuses', async () => {
    const pki = await makeTestPki('falco-node-1');
    const dir = mkdtempSync(join(tmpdir(), 'falco-tls-start-'));
    dirs.push(pki.dir, dir);
    const now = Date.now();
    const early = await makeDatedCertificate(dir, 'early-ca', {
      notBefore: new Date(now + DAY),
      notAfter: new Date(now + 2 * DAY),
    });
    const expired = await makeDatedCertificate(
      dir,
      'expired',
      { notBefore: new Date(now - 2 * DAY), notAfter: new Date(now - DAY) },
      { cert: pki.caCert, key: join(pki.dir, 'ca.key') },
    );
    const ca = readFileSync(early.cert);
    expect(() => refuseUnusableClientCa(ca, clientCaValidity(ca), now)).toThrow(NotValidYet);

    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const loaded = loadTlsCredentials(
      {
        port: 0,
        certFile: expired.cert,
        keyFile: expired.key,
        clientCaFile: early.cert,
        reloadCheckMs: 10_000,
      },
      undefined,
      logger,
    );

    expect(loaded.options.ca).toEqual(ca);
    expect(loaded.options.cert).toEqual(readFileSync(expired.cert));
    // Said once, at start: why every handshake will fail.
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        event: 'tls_files_not_valid',
        problems: [
          expect.stringMatching(/^TLS_CERT_FILE: the certificate expired at /),
          expect.stringMatching(
            /^TLS_CLIENT_CA_FILE: no CA of the bundle is valid now \(the first to become valid does at /,
          ),
        ],
      }),
    ]);
  });
});
