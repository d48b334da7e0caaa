import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCaValidity, refuseExpiredClientCa } from '../../src/server/client-ca-validity.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeDatedCertificate } from '../helpers/make-certificates.js';

const hasOpenssl = requireComponent('openssl', commandWorks('openssl', ['version']));
const DAY = 86_400_000;

describe.runIf(hasOpenssl)('the client CA bundle: when its CAs expire', () => {
  let dir: string;
  const pem: Record<'expired' | 'month' | 'year', string> = { expired: '', month: '', year: '' };
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
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the soonest and the latest notAfter of a bundle, in any order', () => {
    const validity = clientCaValidity(Buffer.from(`${pem.year}${pem.month}`));

    expect(validity).toEqual({
      notAfter: notAfter(pem.month),
      notAfterSeconds: Date.parse(notAfter(pem.month)) / 1000,
      lastNotAfter: notAfter(pem.year),
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
    const expiredOnly = clientCaValidity(Buffer.from(pem.expired))!;
    const rotation = clientCaValidity(Buffer.from(`${pem.expired}${pem.month}`))!;

    expect(() => refuseExpiredClientCa(expiredOnly, Date.now())).toThrow(
      `TLS_CLIENT_CA_FILE: every CA of the new bundle has expired, the last at ${notAfter(pem.expired)}`,
    );
    expect(() => refuseExpiredClientCa(rotation, Date.now())).not.toThrow();
    // A rotation's old CA, expired, is the one the gauge shows until it is taken out.
    expect(rotation.notAfter).toBe(notAfter(pem.expired));
  });
});
