import * as z from 'zod';
import { DEFAULT_ALLOWED_HOSTS, hostList } from './allowed-hosts.js';
import { envFlag as flag } from './env-flag.js';
import type { EnvView } from './env-view.js';
import { pathSecret } from './path-secret.js';
import { timerMs } from './timer-ms.js';
import { numberSetting, port, positiveInt } from './env-number.js';

const optionalPath = z.string().min(1).optional();

const MiB = 1024 * 1024;

/** Environment of the hardening features: server limits, TLS/mTLS ingest, secret path, dedup. */
export const hardeningEnvShape = {
  SERVER_HEADERS_TIMEOUT_MS: timerMs(1).default(10_000),
  SERVER_REQUEST_TIMEOUT_MS: timerMs(1).default(30_000),
  SERVER_KEEP_ALIVE_TIMEOUT_MS: timerMs(1).default(5_000),
  // Unlimited by default: past the limit Node answers 503 to requests a client already sent on the socket.
  SERVER_MAX_REQUESTS_PER_SOCKET: numberSetting(0, { note: ' (0: unlimited)' }).default(0),
  SERVER_MAX_HEADER_BYTES: positiveInt.default(16 * 1024),
  // Falco keeps one connection per node (0.34: one per alert, one at a time); idle ones cost little.
  SERVER_MAX_CONNECTIONS: positiveInt.default(10_000),
  SERVER_MAX_CONNECTIONS_PER_ADDRESS: positiveInt.default(256),
  TLS_PORT: port.optional(),
  TLS_CERT_FILE: optionalPath,
  TLS_KEY_FILE: optionalPath,
  TLS_CLIENT_CA_FILE: optionalPath,
  // A renewed Secret reaches the pod's files within about a minute (the kubelet's sync).
  TLS_RELOAD_CHECK_MS: timerMs(100).default(10_000),
  INGEST_REQUIRE_CLIENT_CERT: flag,
  INGEST_PATH_SECRET: pathSecret,
  INGEST_PATH_SECRET_FILE: optionalPath,
  DEDUP_WINDOW_MS: timerMs(0).default(0),
  DEDUP_MAX_ENTRIES: positiveInt.default(10_000),
  // A 1 MiB alert list is 1 MiB of socket buffer per reader: 8 MiB per response keeps 20 readers small.
  QUERY_MAX_BYTES: numberSetting(64 * 1024).default(8 * MiB),
  // Alert lists and exports held for readers, all together: 5 readers of 30 MB that never read
  // took a 128 MB heap past its limit.
  QUERY_MAX_INFLIGHT_BYTES: positiveInt.default(32 * MiB),
  // One address's share of them (unset: a quarter): four never-read lists from one address, asked
  // for again as each was cut off, held the whole budget and refused every other reader.
  QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS: positiveInt.optional(),
  QUERY_STALL_TIMEOUT_MS: timerMs(1).default(30_000),
  // /metrics renders held for scrapes not yet read to their end: eleven or more at the label caps
  // (under 3 MB each), so a scrape is cut off only if still read 11 s after its render.
  METRICS_MAX_PINNED_BYTES: positiveInt.default(32 * MiB),
  // Bodies still arriving, all clients together: 400 held 1 MiB bodies took RSS 167 -> 491 MiB.
  INGEST_MAX_INFLIGHT_BYTES: positiveInt.default(64 * MiB),
  INGEST_MAX_INFLIGHT_BYTES_PER_ADDRESS: positiveInt.optional(),
  INGEST_MAX_INFLIGHT_PER_ADDRESS: positiveInt.default(32),
  ALLOWED_HOSTS: hostList.default(DEFAULT_ALLOWED_HOSTS),
  STREAM_MAX_CLIENTS_PER_ADDRESS: positiveInt.default(10),
  STREAM_CLIENT_MAX_BUFFERED_BYTES: positiveInt.default(4 * MiB),
  STREAM_MAX_BUFFERED_BYTES: positiveInt.default(32 * MiB),
};

/** The hardening variables on their own (for tests of this module). */
export const hardeningEnvSchema = z.object(hardeningEnvShape);
/** The hardening variables as zod parsed them. */
export type HardeningEnv = z.infer<typeof hardeningEnvSchema>;

// Cross-field checks zod cannot express per key; each problem names the variables. The files they
// name are read by resolveHardening.
export function hardeningEnvProblems({ env, isSet, isUnset, knows }: EnvView<HardeningEnv>): string[] {
  const problems: string[] = [];
  if (
    knows('SERVER_HEADERS_TIMEOUT_MS', 'SERVER_REQUEST_TIMEOUT_MS') &&
    env.SERVER_HEADERS_TIMEOUT_MS > env.SERVER_REQUEST_TIMEOUT_MS
  ) {
    problems.push('SERVER_HEADERS_TIMEOUT_MS: must not exceed SERVER_REQUEST_TIMEOUT_MS');
  }
  const listener = ['TLS_PORT', 'TLS_CERT_FILE', 'TLS_KEY_FILE'] as const;
  if ((listener.some(isSet) || isSet('TLS_CLIENT_CA_FILE')) && listener.some(isUnset)) {
    problems.push('TLS_PORT, TLS_CERT_FILE and TLS_KEY_FILE: set all three to enable the TLS listener');
  }
  if (
    knows('INGEST_REQUIRE_CLIENT_CERT') &&
    env.INGEST_REQUIRE_CLIENT_CERT &&
    isUnset('TLS_CLIENT_CA_FILE')
  ) {
    problems.push('INGEST_REQUIRE_CLIENT_CERT: needs TLS_CLIENT_CA_FILE (and the TLS listener)');
  }
  if (
    knows('STREAM_CLIENT_MAX_BUFFERED_BYTES', 'STREAM_MAX_BUFFERED_BYTES') &&
    env.STREAM_CLIENT_MAX_BUFFERED_BYTES > env.STREAM_MAX_BUFFERED_BYTES
  ) {
    problems.push('STREAM_CLIENT_MAX_BUFFERED_BYTES: must not exceed STREAM_MAX_BUFFERED_BYTES');
  }
  for (const total of ['QUERY_MAX_INFLIGHT_BYTES', 'INGEST_MAX_INFLIGHT_BYTES'] as const) {
    const share = `${total}_PER_ADDRESS` as const;
    if (knows(share, total) && (env[share] ?? 0) > env[total])
      problems.push(`${share}: must not exceed ${total}`);
  }
  if (isSet('INGEST_PATH_SECRET') && isSet('INGEST_PATH_SECRET_FILE')) {
    problems.push('INGEST_PATH_SECRET and INGEST_PATH_SECRET_FILE: set only one');
  }
  return problems;
}
