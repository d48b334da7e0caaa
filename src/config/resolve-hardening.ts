import type { HardeningEnv } from './hardening-env.js';
import { toHardeningConfig, type HardeningConfig } from './hardening-config.js';
import { readSecretFile } from './path-secret.js';
import { readConfigFile } from './read-config-file.js';
import { checkTlsFiles } from './tls-files.js';

// Read when the TLS listener starts, and checked as a reload checks them (checkTlsFiles): a file
// that is not there, or files TLS cannot use, are said now, with the rest. Their dates are not a
// problem here: the listener starts with them, warning (tls-credentials.ts).
function tlsFilesProblems(env: HardeningEnv): string[] {
  const problems: string[] = [];
  const files: Partial<Record<'cert' | 'key' | 'ca', Buffer>> = {};
  for (const [part, name] of [
    ['cert', 'TLS_CERT_FILE'],
    ['key', 'TLS_KEY_FILE'],
    ['ca', 'TLS_CLIENT_CA_FILE'],
  ] as const) {
    const file = env[name];
    const read = file ? readConfigFile(name, file) : undefined;
    if (read && 'problem' in read) problems.push(read.problem);
    else if (read) files[part] = Buffer.from(read.text);
  }
  const { cert, key, ca } = files;
  const check = cert && key ? checkTlsFiles({ cert, key, ...(ca ? { ca } : {}) }, Date.now()) : undefined;
  if (check && !check.usable) problems.push(...check.problems);
  return problems;
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
