import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationProblems } from '../../src/config/configuration-problems.js';
import { loadTlsCredentials } from '../../src/server/tls-credentials.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeDatedCertificate, makeTestPki, type TestPki } from '../helpers/make-certificates.js';
import { certificateOf, servedCertificate } from '../helpers/served-certificate.js';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';
import { until } from '../helpers/until.js';

const hasOpenssl = requireComponent('openssl', commandWorks('openssl', ['version']));
const DAY = 86_400_000;
const iso = (file: string, field: 'validFrom' | 'validTo') =>
  new Date(Date.parse(new X509Certificate(readFileSync(file))[field])).toISOString();
const NOT_VALID =
  'the TLS listener starts with files no client can use now: every handshake fails until they are replaced (read again once changed)';

// A certificate expired or not valid yet, or a client CA bundle with no CA valid now, is served at
// start with a warning: a reload keeps older files in their place, but at start there are none, and
// a pod that did not start would lose its plain port and /metrics (the expiry alert's gauge) too.
// Regression: for a while the start refused them (exit 2), so a certificate that expired in place
// made every restarted pod crash-loop.
describe.runIf(hasOpenssl)('the TLS files at start', () => {
  let pki: TestPki;
  let dir: string;
  let expired: { cert: string; key: string };
  let early: { cert: string; key: string };
  let earlyCa: { cert: string; key: string };
  beforeAll(async () => {
    pki = await makeTestPki('falco-node-1');
    dir = mkdtempSync(join(tmpdir(), 'falco-tls-start-'));
    const now = Date.now();
    const issuer = { cert: pki.caCert, key: join(pki.dir, 'ca.key') };
    [expired, early, earlyCa] = await Promise.all([
      makeDatedCertificate(
        dir,
        'expired',
        { notBefore: new Date(now - 2 * DAY), notAfter: new Date(now - DAY) },
        issuer,
      ),
      makeDatedCertificate(
        dir,
        'early',
        { notBefore: new Date(now + DAY), notAfter: new Date(now + 2 * DAY) },
        issuer,
      ),
      makeDatedCertificate(dir, 'early-ca', {
        notBefore: new Date(now + DAY),
        notAfter: new Date(now + 2 * DAY),
      }),
    ]);
  }, 60_000);
  afterEach(() => killSpawned());
  afterAll(() => {
    for (const each of [pki?.dir, dir]) if (each) rmSync(each, { recursive: true, force: true });
  });

  it('serves an expired certificate and a client CA bundle not valid yet, saying so once', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { base: undefined, timestamp: false },
      { write: (line: string) => lines.push(JSON.parse(line)) },
    );
    const loaded = loadTlsCredentials(
      {
        port: 0,
        certFile: expired.cert,
        keyFile: expired.key,
        clientCaFile: earlyCa.cert,
        reloadCheckMs: 10_000,
      },
      { logger },
    );

    expect(loaded.options.cert).toEqual(readFileSync(expired.cert));
    expect(loaded.options.ca).toEqual(readFileSync(earlyCa.cert));
    expect(lines).toEqual([
      {
        level: 40,
        event: 'tls_files_not_valid',
        problems: [
          `TLS_CERT_FILE: the certificate expired at ${iso(expired.cert, 'validTo')}`,
          `TLS_CLIENT_CA_FILE: no CA of the bundle is valid now (the first to become valid does at ${iso(earlyCa.cert, 'validFrom')}; no client certificate verifies before then)`,
        ],
        msg: NOT_VALID,
      },
    ]);
  });

  // The variable the primary hands its workers is not read from the pod: given some other files'
  // digests there, a worker of the first start that read it would refuse these and stop the pod.
  it('starts every worker of WORKERS=2 with a certificate not valid yet, each saying so, whatever FALCO_RECEIVER_WORKERS_SERVE_TLS the pod sets', async () => {
    const service = await spawnService({
      WORKERS: '2',
      TLS_PORT: '0',
      TLS_CERT_FILE: early.cert,
      TLS_KEY_FILE: early.key,
      FALCO_RECEIVER_WORKERS_SERVE_TLS: createHash('sha256').update('other files').digest('hex'),
    });
    const events = (event: string) => service.lines.filter((line) => line.event === event);
    await until(async () => events('listening_tls').length === 2, 20_000, 'both workers listening');

    // Each worker's warning and listening lines, in worker order: two workers' lines interleave
    // in either order (a fresh-machine run had worker 1 warn first and listen second).
    const byWorker = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      Number(a['worker']) - Number(b['worker']);
    const workers = events('listening_tls')
      .sort(byWorker)
      .map((line) => line.worker);
    expect(events('tls_files_not_valid').sort(byWorker)).toEqual(
      workers.map((worker) =>
        expect.objectContaining({
          level: 'warn',
          worker,
          event: 'tls_files_not_valid',
          problems: [`TLS_CERT_FILE: the certificate is not valid before ${iso(early.cert, 'validFrom')}`],
          msg: NOT_VALID,
        }),
      ),
    );
    expect(await servedCertificate(events('listening_tls')[0]!.port as number)).toBe(
      certificateOf(early.cert),
    );
    expect(events('config_ignored')).toEqual([
      expect.objectContaining({ variable: 'FALCO_RECEIVER_WORKERS_SERVE_TLS' }),
    ]);
  }, 60_000);

  // The files are read again before the listeners start: a Secret swapped since loadConfig checked
  // them, for files TLS cannot use, stops the start as loadConfig would have (exit 2, main.ts).
  it('refuses, as the listener reads them, a key changed since the configuration was checked', () => {
    const load = () =>
      loadTlsCredentials({ port: 0, certFile: expired.cert, keyFile: early.key, reloadCheckMs: 10_000 });
    expect(load).toThrow(ConfigurationProblems);
    expect(load).toThrow(
      "TLS_CERT_FILE and TLS_KEY_FILE: the key is not the certificate's (key values mismatch)",
    );
  });
});
