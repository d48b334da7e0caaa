import { X509Certificate } from 'node:crypto';

// Each certificate of a PEM bundle, under the labels OpenSSL reads (resolve-hardening.ts).
const CERTIFICATE_BLOCK = /-----BEGIN (TRUSTED |X509 )?CERTIFICATE-----[\s\S]*?-----END \1CERTIFICATE-----/g;

/** When the CAs of TLS_CLIENT_CA_FILE expire, as the tls_reloaded line and the gauge name it. */
export interface ClientCaValidity {
  /** The soonest notAfter: the clients whose certificates that CA signed fail from then on. */
  notAfter: string;
  notAfterSeconds: number;
  /** The latest notAfter: from then on no client certificate verifies. */
  lastNotAfter: string;
}

/**
 * The notAfter of every CA in the bundle, or undefined if it holds none that parses. Read up to the
 * first block that does not parse, as OpenSSL reads the bundle: it trusts none of the CAs after it.
 */
export function clientCaValidity(ca: Buffer): ClientCaValidity | undefined {
  const notAfters: number[] = [];
  for (const [block] of ca.toString('utf8').matchAll(CERTIFICATE_BLOCK)) {
    try {
      notAfters.push(Date.parse(new X509Certificate(block).validTo));
    } catch {
      break;
    }
  }
  if (notAfters.length === 0) return undefined;
  const soonest = Math.min(...notAfters);
  return {
    notAfter: new Date(soonest).toISOString(),
    notAfterSeconds: soonest / 1000,
    lastNotAfter: new Date(Math.max(...notAfters)).toISOString(),
  };
}

/**
 * A changed client CA bundle whose every CA has expired is not put in place of the one the listener
 * has (a Secret restored from an old backup): it would refuse every sensor's certificate, and Falco
 * drops the alerts it cannot send. One CA still valid is enough (a rotation's old CA beside the new).
 */
export function refuseExpiredClientCa(validity: ClientCaValidity, nowMs: number): void {
  if (Date.parse(validity.lastNotAfter) <= nowMs)
    throw new Error(
      `TLS_CLIENT_CA_FILE: every CA of the new bundle has expired, the last at ${validity.lastNotAfter}`,
    );
}
