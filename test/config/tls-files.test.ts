import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { makeTestPki, type TestPki } from '../helpers/make-certificates.js';

const problemsOf = (env: Record<string, string>) => {
  const loaded = loadConfig(env);
  return loaded.ok ? [] : loaded.problems;
};

// Regression: each of these passed the configuration and failed the TLS listener's start with
// "failed to start: error:...routines::..." (exit 1), naming no variable.
describe('TLS files as people mount them', () => {
  let pki: TestPki;
  const tls = (cert: string, key: string, ca?: string) => ({
    TLS_PORT: '8443',
    TLS_CERT_FILE: cert,
    TLS_KEY_FILE: key,
    ...(ca === undefined ? {} : { TLS_CLIENT_CA_FILE: ca }),
  });
  const write = (name: string, text: string) => {
    const file = join(pki.dir, name);
    writeFileSync(file, text);
    return file;
  };

  beforeAll(async () => {
    pki = await makeTestPki('falco');
  });

  it('takes a certificate, its key and a CA, with a byte-order mark and CRLF line endings too', () => {
    expect(problemsOf(tls(pki.serverCert, pki.serverKey, pki.caCert))).toEqual([]);
    const crlf = (file: string) => `\uFEFF${readFileSync(file, 'utf8').replaceAll('\n', '\r\n')}`;
    const both = write(
      'both.pem',
      `${readFileSync(pki.serverKey, 'utf8')}${readFileSync(pki.serverCert, 'utf8')}`,
    );
    expect(
      problemsOf(tls(write('crlf.crt', crlf(pki.serverCert)), write('crlf.key', crlf(pki.serverKey)))),
    ).toEqual([]);
    expect(problemsOf(tls(both, both))).toEqual([]);
  });

  // Regression: a client CA bundle as p11-kit's openssl-bundle writes it (TRUSTED CERTIFICATE), or
  // with the old X509 CERTIFICATE label, was refused as holding no PEM certificate, though the
  // listener verifies clients with it.
  it('takes a CA bundle labelled TRUSTED CERTIFICATE or X509 CERTIFICATE', async () => {
    const trusted = join(pki.dir, 'trusted-ca.crt');
    await execa('openssl', ['x509', '-in', pki.caCert, '-addtrust', 'clientAuth', '-out', trusted]);
    expect(readFileSync(trusted, 'utf8')).toContain('-----BEGIN TRUSTED CERTIFICATE-----');
    const old = write(
      'x509-ca.crt',
      readFileSync(pki.caCert, 'utf8').replaceAll('CERTIFICATE-----', 'X509 CERTIFICATE-----'),
    );
    expect(problemsOf(tls(pki.serverCert, pki.serverKey, trusted))).toEqual([]);
    expect(problemsOf(tls(pki.serverCert, pki.serverKey, old))).toEqual([]);
  });

  // Regression: `cat` of two CA files, the first without a final line break, joins two PEM blocks
  // on one line; OpenSSL reads no certificate from it, and the listener started trusting no CA.
  it('says a CA bundle holds certificates OpenSSL does not read', async () => {
    const other = await makeTestPki('falco');
    const joined = write(
      'joined-ca.crt',
      `${readFileSync(pki.caCert, 'utf8').trimEnd()}${readFileSync(other.caCert, 'utf8')}`,
    );
    expect(problemsOf(tls(pki.serverCert, pki.serverKey, joined))).toEqual([
      'TLS_CLIENT_CA_FILE: OpenSSL reads no certificate from the bundle (each a PEM block on lines of its own: a file joined to the next without a final line break runs two together)',
    ]);
    const lines = readFileSync(pki.caCert, 'utf8').split('\n');
    const damaged = write(
      'damaged-ca.crt',
      `${lines.join('\n')}${[...lines.slice(0, 2), ...lines.slice(3)].join('\n')}${readFileSync(other.caCert, 'utf8')}`,
    );
    expect(problemsOf(tls(pki.serverCert, pki.serverKey, damaged))).toEqual([
      'TLS_CLIENT_CA_FILE: OpenSSL reads 1 of the 3 certificates in the bundle: it stops at the first block that does not decode (a line lost or changed) and trusts none after it',
    ]);
  });

  it('says the certificate and key are swapped', () => {
    expect(problemsOf(tls(pki.serverKey, pki.serverCert))).toEqual([
      'TLS_CERT_FILE and TLS_KEY_FILE: swapped (the certificate file holds a private key, the key file a certificate)',
    ]);
  });

  it("says the key is not the certificate's", () => {
    expect(problemsOf(tls(pki.serverCert, pki.clientKey))).toEqual([
      "TLS_CERT_FILE and TLS_KEY_FILE: the key is not the certificate's (key values mismatch)",
    ]);
  });

  it('says a file holds no PEM, and a key is encrypted', async () => {
    const empty = write('empty', '');
    expect(problemsOf(tls(empty, empty, empty))).toEqual([
      'TLS_CERT_FILE: holds no PEM certificate (-----BEGIN CERTIFICATE-----)',
      'TLS_KEY_FILE: holds no PEM private key (-----BEGIN PRIVATE KEY-----)',
      'TLS_CLIENT_CA_FILE: holds no PEM certificate (-----BEGIN CERTIFICATE-----)',
    ]);
    const encrypted = join(pki.dir, 'encrypted.key');
    await execa('openssl', [
      'pkey',
      '-in',
      pki.serverKey,
      '-aes256',
      '-passout',
      'pass:secret',
      '-out',
      encrypted,
    ]);
    expect(problemsOf(tls(pki.serverCert, encrypted))).toEqual([
      'TLS_KEY_FILE: the key is encrypted and no passphrase is read: give it unencrypted (openssl pkey -in <key> -out <key without passphrase>)',
    ]);
  });
});
