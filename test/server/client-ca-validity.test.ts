import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certificatesLoaded,
  clientCaValidity,
  refuseUnusableClientCa,
} from '../../src/server/client-ca-validity.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeDatedCertificate, makeTestPki, type TestPki } from '../helpers/make-certificates.js';

const hasOpenssl = requireComponent('openssl', commandWorks('openssl', ['version']));
const DAY = 86_400_000;

describe.runIf(hasOpenssl)('the client CA bundle: when its CAs expire', () => {
  let dir: string;
  const pem: Record<'expired' | 'month' | 'year' | 'future', string> = {
    expired: '',
    month: '',
    year: '',
    future: '',
  };
  const notAfter = (text: string) => new Date(new X509Certificate(text).validTo).toISOString();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'falco-client-ca-'));
    const now = Date.now();
    const ends = { expired: now - DAY, month: now + 30 * DAY, year: now + 365 * DAY };
    for (const [name, end] of Object.entries(ends) as Array<[keyof typeof pem, number]>) {
      const made = await makeDatedCertificate(dir, name, {
        notBefore: new Date(now - 2 * DAY),
        notAfter: new Date(end),
      });
      pem[name] = readFileSync(made.cert, 'utf8');
    }
    const made = await makeDatedCertificate(dir, 'future', {
      notBefore: new Date(now + DAY),
      notAfter: new Date(now + 365 * DAY),
    });
    pem.future = readFileSync(made.cert, 'utf8');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the soonest and the latest notAfter of a bundle, in any order', () => {
    const validity = clientCaValidity(Buffer.from(`${pem.year}${pem.month}`));

    expect(validity).toEqual({
      notAfter: notAfter(pem.month),
      notAfterSeconds: Date.parse(notAfter(pem.month)) / 1000,
      lastNotAfter: notAfter(pem.year),
      certificates: 2,
      periods: [pem.year, pem.month].map((text) => ({
        notBeforeMs: Date.parse(new X509Certificate(text).validFrom),
        notAfterMs: Date.parse(notAfter(text)),
      })),
    });
  });

  it('reads no CA after a block that does not parse, as OpenSSL trusts none after it', () => {
    const broken = '-----BEGIN CERTIFICATE-----\nMIIBzzzz\n-----END CERTIFICATE-----\n';

    expect(clientCaValidity(Buffer.from(`${pem.year}${broken}${pem.month}`))?.notAfter).toBe(
      notAfter(pem.year),
    );
    expect(clientCaValidity(Buffer.from(`${broken}${pem.year}`))).toBeUndefined();
  });

  it('refuses a bundle whose every CA has expired, not one with a CA still valid', () => {
    const refusal = (text: string) => () =>
      refuseUnusableClientCa(Buffer.from(text), clientCaValidity(Buffer.from(text)), Date.now());
    const rotation = clientCaValidity(Buffer.from(`${pem.expired}${pem.month}`))!;

    expect(refusal(pem.expired)).toThrow(
      `TLS_CLIENT_CA_FILE: every CA of the new bundle has expired, the last at ${notAfter(pem.expired)}`,
    );
    expect(refusal(`${pem.expired}${pem.month}`)).not.toThrow();
    // A rotation's old CA, expired, is the one the gauge shows until it is taken out.
    expect(rotation.notAfter).toBe(notAfter(pem.expired));
  });

  // Regression: a bundle whose only CA was not valid yet (made on a machine whose clock runs ahead)
  // was put in place, and no sensor's certificate verified until its notBefore.
  it('refuses a bundle with no CA valid yet, or with the rest expired, not one with a CA valid now', () => {
    const refusal = (text: string) => () =>
      refuseUnusableClientCa(Buffer.from(text), clientCaValidity(Buffer.from(text)), Date.now());
    const validFrom = new Date(new X509Certificate(pem.future).validFrom).toISOString();
    const message = `TLS_CLIENT_CA_FILE: no CA of the new bundle is valid now (the first to become valid does at ${validFrom}; no client certificate verifies before then)`;

    expect(refusal(pem.future)).toThrow(message);
    expect(refusal(`${pem.expired}${pem.future}`)).toThrow(message);
    expect(refusal(`${pem.future}${pem.month}`)).not.toThrow();
  });

  // Regression: OpenSSL stops at a block that does not decode and trusts none after it, and the
  // secure context is made all the same: a bundle with no certificate read, or a rotation's new CA
  // added after a block damaged in a copy, loaded while the sensors it was for were refused.
  it('refuses a bundle whose certificates OpenSSL does not all read, not one with a block commented out', () => {
    const refusal = (text: string) => () =>
      refuseUnusableClientCa(Buffer.from(text), clientCaValidity(Buffer.from(text)), Date.now());
    const broken = '-----BEGIN CERTIFICATE-----\nMIIBzzzz\n-----END CERTIFICATE-----\n';
    const commented = pem.year.replace(/^/gm, '# ');

    expect(refusal('')).toThrow(/^TLS_CLIENT_CA_FILE: OpenSSL reads no certificate from the new bundle \(/);
    expect(refusal(`${pem.month}${broken}${pem.year}`)).toThrow(
      'TLS_CLIENT_CA_FILE: OpenSSL reads 1 of the 3 certificates in the new bundle: it stops at the first block that does not decode (a line lost or changed) and trusts none after it',
    );
    expect(refusal(`${pem.month}\r\n${commented}\n${pem.year.replaceAll('\n', '\r\n')}`)).not.toThrow();
  });
});

/** Which of `clients` a TLS listener given `ca` verifies: what OpenSSL made of the bundle. */
async function verifiedBy(ca: Buffer, server: TestPki, clients: TestPki[]): Promise<boolean[]> {
  const listener = tls.createServer({
    cert: readFileSync(server.serverCert),
    key: readFileSync(server.serverKey),
    ca,
    requestCert: true,
    rejectUnauthorized: false,
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as { port: number }).port;
  const results: boolean[] = [];
  for (const client of clients) {
    const verified = new Promise<boolean>((resolve) =>
      listener.once('secureConnection', (socket) => {
        resolve(socket.authorized);
        socket.destroy();
      }),
    );
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      cert: readFileSync(client.clientCert),
      key: readFileSync(client.clientKey),
      rejectUnauthorized: false,
    });
    socket.on('error', () => undefined);
    results.push(await verified);
    socket.destroy();
  }
  await new Promise((resolve) => listener.close(resolve));
  return results;
}

describe.runIf(hasOpenssl)('the client CA bundle: the CAs read are the ones the TLS listener trusts', () => {
  let first: TestPki;
  let second: TestPki;
  beforeAll(async () => {
    [first, second] = await Promise.all([makeTestPki('falco-node-1'), makeTestPki('falco-node-1')]);
  });
  afterAll(() => {
    for (const pki of [first, second]) rmSync(pki.dir, { recursive: true, force: true });
  });

  // Regression: a pattern over the text read both CAs of a bundle joined by `cat` from a file without
  // a final line break, where OpenSSL reads neither ("-----END CERTIFICATE----------BEGIN ..."): the
  // gauge showed two valid CAs, and a reload took the bundle while every sensor was refused. It also
  // went on past a broken block of another kind, where OpenSSL stops, and read indented blocks, which
  // OpenSSL skips.
  it('reads a bundle as OpenSSL does', async () => {
    const [a, b] = [first, second].map((pki) => readFileSync(pki.caCert, 'utf8'));
    const bundles = {
      both: `${a}${b}`,
      commentsAndCrlf: `# old\r\n${a}text\r\n${b}`.replace(/\r?\n/g, '\r\n'),
      joinedOnOneLine: `${a!.trimEnd()}${b}`,
      brokenBlockOfAnotherKind: `${a}-----BEGIN NOTES-----\n!!\n-----END NOTES-----\n${b}`,
      brokenCertificateBlock: `${a}-----BEGIN CERTIFICATE-----\nMIIBzzzz\n-----END CERTIFICATE-----\n${b}`,
      firstIndented: `${a!.replace(/^/gm, '  ')}\n${b}`,
      der: new X509Certificate(a!).raw.toString('latin1'),
    };
    const fingerprints = [a, b].map((pem) => new X509Certificate(pem!).fingerprint256);
    const read: Record<string, boolean[]> = {};
    const trusted: Record<string, boolean[]> = {};
    for (const [name, text] of Object.entries(bundles)) {
      const ca = Buffer.from(text, name === 'der' ? 'latin1' : 'utf8');
      const loaded = certificatesLoaded(ca).map((certificate) => certificate.fingerprint256);
      read[name] = fingerprints.map((fingerprint) => loaded.includes(fingerprint));
      trusted[name] = await verifiedBy(ca, first, [first, second]);
    }

    expect(read).toEqual(trusted);
    expect(trusted).toEqual({
      both: [true, true],
      commentsAndCrlf: [true, true],
      joinedOnOneLine: [false, false],
      brokenBlockOfAnotherKind: [true, false],
      brokenCertificateBlock: [true, false],
      firstIndented: [false, true],
      der: [false, false],
    });
  });
});
