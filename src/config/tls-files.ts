import { X509Certificate, createHash } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import {
  certificatesLoaded,
  clientCaValidity,
  NotValidYet,
  refuseUnusableClientCa,
  unreadCertificates,
  type ClientCaValidity,
} from '../server/client-ca-validity.js';

/** The TLS listener's files as read (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE). */
export interface TlsFileContents {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** The listener's certificate, as its log lines name it. */
export interface CertificateFacts {
  notBefore: string;
  notAfter: string;
  notAfterSeconds: number;
  fingerprint256: string;
}

/**
 * What the TLS listener makes of its files. Files TLS cannot use at all (a key that is not the
 * certificate's, no PEM block, a client CA bundle OpenSSL does not wholly read) are `usable: false`:
 * the start stops (exit 2), a reload keeps what it has. Files it can use come with their facts and
 * the dates no client accepts now, if any (a certificate expired or not valid yet, a client CA
 * bundle with no CA valid now): a reload refuses them, a start serves them with a warning.
 */
export type TlsFilesCheck =
  | { usable: false; problems: string[] }
  | {
      usable: true;
      certificate: CertificateFacts;
      clientCa?: ClientCaValidity;
      /** The dates no client accepts now, each naming its variable; empty when there is none. */
      problems: string[];
      /** Every problem is a date not reached yet: the same files pass from then on. */
      validFromMs?: number;
    };

// OpenSSL, and so Node, also reads a certificate labelled TRUSTED CERTIFICATE (p11-kit's
// openssl-bundle, `openssl x509 -addtrust`) or X509 CERTIFICATE (the old label).
const CERTIFICATE = /-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----/;
const PRIVATE_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

function secureContextError(options: SecureContextOptions): string | undefined {
  try {
    createSecureContext(options);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

// What https.createServer would throw when the TLS listener starts, said with the variables that
// name the files: the swapped cert and key, a key that is not the certificate's, an encrypted key
// or a CA file without a certificate were "failed to start: error:1E08010C:DECODER routines::unsupported"
// and exit 1 (or, for an empty CA file, a listener that refused every client certificate).
function fileProblems({ cert, key, ca }: { cert: string; key: string; ca?: string }): string[] {
  const problems: string[] = [];
  // Only a key where the certificate belongs, and only a certificate where the key does (one file
  // with both, named twice, is not swapped).
  if (PRIVATE_KEY.test(cert) && !CERTIFICATE.test(cert) && CERTIFICATE.test(key) && !PRIVATE_KEY.test(key))
    return [
      'TLS_CERT_FILE and TLS_KEY_FILE: swapped (the certificate file holds a private key, the key file a certificate)',
    ];
  if (!CERTIFICATE.test(cert))
    problems.push('TLS_CERT_FILE: holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  if (!PRIVATE_KEY.test(key))
    problems.push('TLS_KEY_FILE: holds no PEM private key (-----BEGIN PRIVATE KEY-----)');
  else if (ENCRYPTED_KEY.test(key))
    problems.push(
      'TLS_KEY_FILE: the key is encrypted and no passphrase is read: give it unencrypted (openssl pkey -in <key> -out <key without passphrase>)',
    );
  if (ca !== undefined && !CERTIFICATE.test(ca))
    problems.push('TLS_CLIENT_CA_FILE: holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  if (problems.length > 0) return problems;
  const error = secureContextError({ cert, key });
  if (error)
    problems.push(
      /mismatch/i.test(error)
        ? "TLS_CERT_FILE and TLS_KEY_FILE: the key is not the certificate's (key values mismatch)"
        : `TLS_CERT_FILE and TLS_KEY_FILE: not a certificate and key TLS can use (${error})`,
    );
  const caError = ca === undefined ? undefined : secureContextError({ ca });
  if (caError) problems.push(`TLS_CLIENT_CA_FILE: not a CA certificate TLS can use (${caError})`);
  // The secure context is made all the same, trusting no CA: every client certificate refused.
  else if (ca !== undefined) {
    const bytes = Buffer.from(ca);
    const unread = unreadCertificates(bytes, certificatesLoaded(bytes).length, 'the bundle');
    if (unread !== undefined) problems.push(`TLS_CLIENT_CA_FILE: ${unread}`);
  }
  return problems;
}

/** The served certificate's dates and fingerprint: the first of the file (a chain follows it). */
export function certificateFacts(cert: Buffer): CertificateFacts {
  const x509 = new X509Certificate(cert);
  const notAfterMs = Date.parse(x509.validTo);
  return {
    notBefore: new Date(Date.parse(x509.validFrom)).toISOString(),
    notAfter: new Date(notAfterMs).toISOString(),
    notAfterSeconds: notAfterMs / 1000,
    fingerprint256: createHash('sha256').update(x509.raw).digest('hex'),
  };
}

/**
 * A certificate every client would refuse: an expired one (a Secret restored from a backup) never
 * becomes valid; one not valid yet (an issuer's clock ahead of this one) is from its notBefore on.
 */
function refuseOutsideValidity(certificate: CertificateFacts, nowMs: number): void {
  if (Date.parse(certificate.notAfter) <= nowMs)
    throw new Error(`TLS_CERT_FILE: the certificate expired at ${certificate.notAfter}`);
  if (Date.parse(certificate.notBefore) > nowMs)
    throw new NotValidYet(
      `TLS_CERT_FILE: the certificate is not valid before ${certificate.notBefore}`,
      Date.parse(certificate.notBefore),
    );
}

/**
 * The one check of the TLS listener's files: at start (with the rest of the configuration, and again
 * as the listener reads them) and at every reload, so that each says a problem in the same words.
 * `servedCa` is the client CA bundle the listener serves: the same bundle again is not held to its
 * dates, which would hold back a renewed certificate and keep that same CA all the same.
 */
export function checkTlsFiles(files: TlsFileContents, nowMs: number, servedCa?: Buffer): TlsFilesCheck {
  const problems = fileProblems({
    cert: files.cert.toString('utf8'),
    key: files.key.toString('utf8'),
    ...(files.ca ? { ca: files.ca.toString('utf8') } : {}),
  });
  if (problems.length > 0) return { usable: false, problems };
  const certificate = certificateFacts(files.cert);
  const clientCa = files.ca && clientCaValidity(files.ca);
  const { ca } = files;
  const refusals = [
    () => refuseOutsideValidity(certificate, nowMs),
    () => ca && !servedCa?.equals(ca) && refuseUnusableClientCa(ca, clientCa, nowMs, 'the bundle'),
  ].flatMap((check) => {
    try {
      check();
      return [];
    } catch (error) {
      return [error as Error];
    }
  });
  const notYet = refusals.filter((refusal): refusal is NotValidYet => refusal instanceof NotValidYet);
  return {
    usable: true,
    certificate,
    ...(clientCa ? { clientCa } : {}),
    problems: refusals.map((refusal) => refusal.message),
    ...(notYet.length > 0 && notYet.length === refusals.length
      ? { validFromMs: Math.max(...notYet.map((refusal) => refusal.fromMs)) }
      : {}),
  };
}
