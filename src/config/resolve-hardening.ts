import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { certificatesLoaded, unreadCertificates } from '../server/client-ca-validity.js';
import type { HardeningEnv } from './hardening-env.js';
import { toHardeningConfig, type HardeningConfig } from './hardening-config.js';
import { readSecretFile } from './path-secret.js';
import { readConfigFile } from './read-config-file.js';

type TlsFileVariable = 'TLS_CERT_FILE' | 'TLS_KEY_FILE' | 'TLS_CLIENT_CA_FILE';

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

// What https.createServer would throw when the TLS listener starts, said now with the variables
// that name the files: the swapped cert and key, a key that is not the certificate's, an encrypted
// key or a CA file without a certificate were "failed to start: error:1E08010C:DECODER routines::unsupported"
// and exit 1 (or, for an empty CA file, a listener that refused every client certificate).
export function tlsFileProblems(texts: Partial<Record<TlsFileVariable, string>>): string[] {
  const problems: string[] = [];
  const { TLS_CERT_FILE: cert, TLS_KEY_FILE: key, TLS_CLIENT_CA_FILE: ca } = texts;
  // Only a key where the certificate belongs, and only a certificate where the key does (one file
  // with both, named twice, is not swapped).
  const onlyKey = (text?: string) => text !== undefined && PRIVATE_KEY.test(text) && !CERTIFICATE.test(text);
  const onlyCertificate = (text?: string) =>
    text !== undefined && CERTIFICATE.test(text) && !PRIVATE_KEY.test(text);
  if (onlyKey(cert) && onlyCertificate(key))
    return [
      'TLS_CERT_FILE and TLS_KEY_FILE: swapped (the certificate file holds a private key, the key file a certificate)',
    ];
  if (cert !== undefined && !CERTIFICATE.test(cert))
    problems.push('TLS_CERT_FILE: holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  if (key !== undefined && !PRIVATE_KEY.test(key))
    problems.push('TLS_KEY_FILE: holds no PEM private key (-----BEGIN PRIVATE KEY-----)');
  else if (key !== undefined && ENCRYPTED_KEY.test(key))
    problems.push(
      'TLS_KEY_FILE: the key is encrypted and no passphrase is read: give it unencrypted (openssl pkey -in <key> -out <key without passphrase>)',
    );
  if (ca !== undefined && !CERTIFICATE.test(ca))
    problems.push('TLS_CLIENT_CA_FILE: holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  if (problems.length > 0) return problems;
  if (cert !== undefined && key !== undefined) {
    const error = secureContextError({ cert, key });
    if (error)
      problems.push(
        /mismatch/i.test(error)
          ? "TLS_CERT_FILE and TLS_KEY_FILE: the key is not the certificate's (key values mismatch)"
          : `TLS_CERT_FILE and TLS_KEY_FILE: not a certificate and key TLS can use (${error})`,
      );
  }
  const caError = ca === undefined ? undefined : secureContextError({ ca });
  if (caError) problems.push(`TLS_CLIENT_CA_FILE: not a CA certificate TLS can use (${caError})`);
  // The secure context is made all the same, trusting no CA: every client certificate refused.
  else if (ca !== undefined) {
    const bytes = Buffer.from(ca);
    const unread = unreadCertificates(bytes, certificatesLoaded(bytes).length, 'it');
    if (unread !== undefined) problems.push(`TLS_CLIENT_CA_FILE: ${unread}`);
  }
  return problems;
}

// Read when the TLS listener starts: a file that is not there, or holds no certificate or key TLS
// can use, is said now with the rest.
function tlsFilesProblems(env: HardeningEnv): string[] {
  const problems: string[] = [];
  const texts: Partial<Record<TlsFileVariable, string>> = {};
  for (const name of ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_CLIENT_CA_FILE'] as const) {
    const file = env[name];
    const read = file ? readConfigFile(name, file) : undefined;
    if (read && 'problem' in read) problems.push(read.problem);
    else if (read) texts[name] = read.text;
  }
  return [...problems, ...tlsFileProblems(texts)];
}

/**
 * The hardening part of `Config`, or the problems of the files its variables name (TLS, secret
 * path); those between the variables are hardeningEnvProblems', checked with them.
 */
export function resolveHardening(
  env: HardeningEnv,
): { ok: true; hardening: HardeningConfig } | { ok: false; problems: string[] } {
  const problems = tlsFilesProblems(env);
  const fromFile = env.INGEST_PATH_SECRET_FILE ? readSecretFile(env.INGEST_PATH_SECRET_FILE) : undefined;
  if (fromFile && 'problem' in fromFile) problems.push(fromFile.problem);
  if (problems.length > 0) return { ok: false, problems };
  const secrets = fromFile && 'secrets' in fromFile ? fromFile.secrets : undefined;
  return {
    ok: true,
    hardening: toHardeningConfig(
      env,
      secrets ?? (env.INGEST_PATH_SECRET ? [env.INGEST_PATH_SECRET] : undefined),
    ),
  };
}
