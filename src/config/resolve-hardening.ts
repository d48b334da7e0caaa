import type { HardeningEnv } from './hardening-env.js';
import { toHardeningConfig, type HardeningConfig } from './hardening-config.js';
import { readSecretFile } from './path-secret.js';
import { readConfigFile } from './read-config-file.js';

// Cross-field checks zod cannot express per key; each problem names the variables.
function checkHardeningEnv(env: HardeningEnv): string[] {
  const problems: string[] = [];
  if (env.SERVER_HEADERS_TIMEOUT_MS > env.SERVER_REQUEST_TIMEOUT_MS) {
    problems.push('SERVER_HEADERS_TIMEOUT_MS: must not exceed SERVER_REQUEST_TIMEOUT_MS');
  }
  const tlsSet =
    env.TLS_PORT !== undefined || env.TLS_CERT_FILE || env.TLS_KEY_FILE || env.TLS_CLIENT_CA_FILE;
  if (tlsSet && (env.TLS_PORT === undefined || !env.TLS_CERT_FILE || !env.TLS_KEY_FILE)) {
    problems.push('TLS_PORT, TLS_CERT_FILE and TLS_KEY_FILE: set all three to enable the TLS listener');
  }
  if (env.INGEST_REQUIRE_CLIENT_CERT && !env.TLS_CLIENT_CA_FILE) {
    problems.push('INGEST_REQUIRE_CLIENT_CERT: needs TLS_CLIENT_CA_FILE (and the TLS listener)');
  }
  if (env.STREAM_CLIENT_MAX_BUFFERED_BYTES > env.STREAM_MAX_BUFFERED_BYTES) {
    problems.push('STREAM_CLIENT_MAX_BUFFERED_BYTES: must not exceed STREAM_MAX_BUFFERED_BYTES');
  }
  for (const total of ['QUERY_MAX_INFLIGHT_BYTES', 'INGEST_MAX_INFLIGHT_BYTES'] as const) {
    if ((env[`${total}_PER_ADDRESS`] ?? 0) > env[total])
      problems.push(`${total}_PER_ADDRESS: must not exceed ${total}`);
  }
  // Read when the TLS listener starts: a file that is not there is said now, with the rest.
  for (const name of ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_CLIENT_CA_FILE'] as const) {
    const file = env[name];
    const read = file ? readConfigFile(name, file) : undefined;
    if (read && 'problem' in read) problems.push(read.problem);
  }
  if (env.INGEST_PATH_SECRET && env.INGEST_PATH_SECRET_FILE) {
    problems.push('INGEST_PATH_SECRET and INGEST_PATH_SECRET_FILE: set only one');
  }
  return problems;
}

/** The hardening part of `Config`, or every problem found (cross-field checks, unreadable secret file). */
export function resolveHardening(
  env: HardeningEnv,
): { ok: true; hardening: HardeningConfig } | { ok: false; problems: string[] } {
  const problems = checkHardeningEnv(env);
  const fromFile = env.INGEST_PATH_SECRET_FILE ? readSecretFile(env.INGEST_PATH_SECRET_FILE) : {};
  if (fromFile.problem) problems.push(fromFile.problem);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, hardening: toHardeningConfig(env, fromFile.secret ?? env.INGEST_PATH_SECRET) };
}
