import { readFileSync } from 'node:fs';
import * as z from 'zod';

const ms = z.coerce.number().int().min(0);
const positiveInt = z.coerce.number().int().positive();
const optionalPath = z.string().min(1).optional();
const flag = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((text) => text === 'true' || text === '1');
// Letters, digits, '-' and '_' only: the secret is one URL path segment and must not need encoding.
const pathSecret = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,128}$/, { error: 'must be 16-128 characters of A-Z a-z 0-9 _ -' })
  .optional();

const MiB = 1024 * 1024;
// Names a Host header may carry on read routes; IP literals are always allowed (see hostAllowed).
const hostList = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((item) => item.trim().toLowerCase())
      .filter((item) => item !== ''),
  )
  .refine((hosts) => hosts.length > 0, { error: 'must name at least one host (or *)' });
/**
 * Loopback names and the Service's DNS names in k8s/ (Service falco-alert-receiver, namespace falco).
 * Pod IPs (Prometheus, kubelet probes) are IP literals and always pass.
 */
export const DEFAULT_ALLOWED_HOSTS = [
  'localhost',
  'falco-alert-receiver',
  'falco-alert-receiver.falco',
  'falco-alert-receiver.falco.svc',
  'falco-alert-receiver.falco.svc.cluster.local',
];

/** Environment of the hardening features: server limits, TLS/mTLS ingest, secret path, dedup. */
export const hardeningEnvShape = {
  SERVER_HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  SERVER_REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  SERVER_KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(5_000),
  // Unlimited by default: past the limit Node answers 503 to requests a client already sent on the socket.
  SERVER_MAX_REQUESTS_PER_SOCKET: ms.default(0),
  SERVER_MAX_HEADER_BYTES: positiveInt.default(16 * 1024),
  // Falco keeps one connection per node (0.34: one per alert, one at a time); idle ones cost little.
  SERVER_MAX_CONNECTIONS_PER_ADDRESS: positiveInt.default(256),
  TLS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  TLS_CERT_FILE: optionalPath,
  TLS_KEY_FILE: optionalPath,
  TLS_CLIENT_CA_FILE: optionalPath,
  INGEST_REQUIRE_CLIENT_CERT: flag,
  INGEST_PATH_SECRET: pathSecret,
  INGEST_PATH_SECRET_FILE: optionalPath,
  DEDUP_WINDOW_MS: ms.default(0),
  DEDUP_MAX_ENTRIES: positiveInt.default(10_000),
  // A 1 MiB alert list is 1 MiB of socket buffer per reader: 8 MiB per response keeps 20 readers small.
  QUERY_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .default(8 * MiB),
  // Alert lists and exports held for readers, all together: 5 readers of 30 MB that never read
  // took a 128 MB heap past its limit.
  QUERY_MAX_INFLIGHT_BYTES: positiveInt.default(32 * MiB),
  // One address's share of them (unset: a quarter): four never-read lists from one address, asked
  // for again as each was cut off, held the whole budget and refused every other reader.
  QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS: positiveInt.optional(),
  QUERY_STALL_TIMEOUT_MS: positiveInt.default(30_000),
  // Bodies still arriving, all clients together: 400 held 1 MiB bodies took RSS 167 -> 491 MiB.
  INGEST_MAX_INFLIGHT_BYTES: positiveInt.default(64 * MiB),
  INGEST_MAX_INFLIGHT_PER_ADDRESS: positiveInt.default(32),
  ALLOWED_HOSTS: hostList.default(DEFAULT_ALLOWED_HOSTS),
  STREAM_MAX_CLIENTS_PER_ADDRESS: positiveInt.default(10),
  STREAM_CLIENT_MAX_BUFFERED_BYTES: positiveInt.default(4 * MiB),
  STREAM_MAX_BUFFERED_BYTES: positiveInt.default(32 * MiB),
};

/** The hardening variables on their own (for tests of this module). */
export const hardeningEnvSchema = z.object(hardeningEnvShape);
type HardeningEnv = z.infer<typeof hardeningEnvSchema>;

/** Limits of the HTTP server (Node's defaults are too lax for an internet-facing receiver). */
export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** 0 = unlimited. */
  maxRequestsPerSocket: number;
  maxHeaderBytes: number;
  /** Open connections from one client address; more are closed at once (plain HTTP: a 503 first). */
  maxConnectionsPerAddress: number;
}

/** The optional TLS listener; `clientCaFile` turns on client-certificate verification (mTLS). */
export interface TlsConfig {
  port: number;
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}

export interface HardeningConfig {
  server: ServerLimits;
  tls?: TlsConfig;
  ingest: { requireClientCert: boolean; pathSecret?: string };
  dedup: { windowMs: number; maxEntries: number };
  /** Most bytes of one `GET /alerts` answer (and of one stream's replay). */
  queryMaxBytes: number;
  /** Bounds on alert lists and exports held for their readers. */
  readLimits: { maxInflightBytes: number; maxInflightBytesPerAddress: number; stallMs: number };
  /** Bounds on request bodies still arriving. */
  inflight: { maxBytes: number; maxPerAddress: number };
  /** Host names read routes answer to (`*` = any); IP literals always pass. */
  allowedHosts: string[];
  /** Per-address and buffer bounds of the live stream. */
  streamLimits: { maxPerAddress: number; maxClientBufferedBytes: number; maxBufferedBytes: number };
}

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
  if ((env.QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS ?? 0) > env.QUERY_MAX_INFLIGHT_BYTES) {
    problems.push('QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS: must not exceed QUERY_MAX_INFLIGHT_BYTES');
  }
  if (env.INGEST_PATH_SECRET && env.INGEST_PATH_SECRET_FILE) {
    problems.push('INGEST_PATH_SECRET and INGEST_PATH_SECRET_FILE: set only one');
  }
  return problems;
}

// A Kubernetes secret mounted as a file usually ends in a newline.
function readSecretFile(file: string): { secret?: string; problem?: string } {
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch (error) {
    return {
      problem: `INGEST_PATH_SECRET_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`,
    };
  }
  const checked = pathSecret.safeParse(secret);
  if (!checked.success)
    return { problem: `INGEST_PATH_SECRET_FILE: the secret ${checked.error.issues[0]?.message}` };
  return { secret };
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

function toHardeningConfig(env: HardeningEnv, pathSecretValue: string | undefined): HardeningConfig {
  const tls =
    env.TLS_PORT !== undefined && env.TLS_CERT_FILE && env.TLS_KEY_FILE
      ? {
          port: env.TLS_PORT,
          certFile: env.TLS_CERT_FILE,
          keyFile: env.TLS_KEY_FILE,
          clientCaFile: env.TLS_CLIENT_CA_FILE,
        }
      : undefined;
  return {
    server: {
      headersTimeoutMs: env.SERVER_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.SERVER_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: env.SERVER_KEEP_ALIVE_TIMEOUT_MS,
      maxRequestsPerSocket: env.SERVER_MAX_REQUESTS_PER_SOCKET,
      maxHeaderBytes: env.SERVER_MAX_HEADER_BYTES,
      maxConnectionsPerAddress: env.SERVER_MAX_CONNECTIONS_PER_ADDRESS,
    },
    tls,
    ingest: { requireClientCert: env.INGEST_REQUIRE_CLIENT_CERT, pathSecret: pathSecretValue },
    dedup: { windowMs: env.DEDUP_WINDOW_MS, maxEntries: env.DEDUP_MAX_ENTRIES },
    queryMaxBytes: env.QUERY_MAX_BYTES,
    readLimits: {
      maxInflightBytes: env.QUERY_MAX_INFLIGHT_BYTES,
      maxInflightBytesPerAddress:
        env.QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS ?? Math.max(1, Math.floor(env.QUERY_MAX_INFLIGHT_BYTES / 4)),
      stallMs: env.QUERY_STALL_TIMEOUT_MS,
    },
    inflight: { maxBytes: env.INGEST_MAX_INFLIGHT_BYTES, maxPerAddress: env.INGEST_MAX_INFLIGHT_PER_ADDRESS },
    allowedHosts: env.ALLOWED_HOSTS,
    streamLimits: {
      maxPerAddress: env.STREAM_MAX_CLIENTS_PER_ADDRESS,
      maxClientBufferedBytes: env.STREAM_CLIENT_MAX_BUFFERED_BYTES,
      maxBufferedBytes: env.STREAM_MAX_BUFFERED_BYTES,
    },
  };
}
