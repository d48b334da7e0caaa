import type { HardeningEnv } from './hardening-env.js';

/** Limits of the HTTP server (Node's defaults are too lax for an internet-facing receiver). */
export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /**
   * How long a connection closed at its keep-alive timeout is left for its client to read what the
   * kernel still holds of its answer before it is reset (QUERY_STALL_TIMEOUT_MS, as a reader gets
   * while its answer is written).
   */
  stallTimeoutMs: number;
  /** 0 = unlimited. */
  maxRequestsPerSocket: number;
  maxHeaderBytes: number;
  /**
   * Open connections of one listener; at it, its idle kept-alive connections are closed and the
   * new one refused (plain HTTP: a 503 first).
   */
  maxConnections: number;
  /** Open connections from one client address; more are closed at once (plain HTTP: a 503 first). */
  maxConnectionsPerAddress: number;
}

/** The optional TLS listener; `clientCaFile` turns on client-certificate verification (mTLS). */
export interface TlsConfig {
  port: number;
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
  /** How often the files are looked at for a renewal (tls-credentials.ts). */
  reloadCheckMs: number;
}

export interface HardeningConfig {
  server: ServerLimits;
  tls?: TlsConfig;
  /**
   * `pathSecrets`: INGEST_PATH_SECRET, or the lines of INGEST_PATH_SECRET_FILE (read again once
   * changed: `pathSecretFile`); undefined when ingest needs no secret path.
   */
  ingest: { requireClientCert: boolean; pathSecrets?: readonly string[]; pathSecretFile?: string };
  dedup: { windowMs: number; maxEntries: number };
  /** Most bytes of one `GET /alerts` answer (and of one stream's replay). */
  queryMaxBytes: number;
  /** Bounds on alert lists and exports, and `/metrics` renders, held for their readers. */
  readLimits: {
    maxInflightBytes: number;
    maxInflightBytesPerAddress: number;
    stallMs: number;
    maxPinnedBytes: number;
  };
  /** Bounds on request bodies still arriving. */
  inflight: { maxBytes: number; maxBytesPerAddress: number; maxPerAddress: number };
  /** Host names read routes answer to (`*` = any); IP literals always pass. */
  allowedHosts: string[];
  /** Per-address and buffer bounds of the live stream. */
  streamLimits: { maxPerAddress: number; maxClientBufferedBytes: number; maxBufferedBytes: number };
}

/** The hardening part of `Config` from variables that passed every check. */
// One client address's share of a byte budget: as set, or a quarter of it, so one client (one
// compromised pod) cannot hold all of it.
function addressShare(total: number, set: number | undefined): number {
  return set ?? Math.max(1, Math.floor(total / 4));
}

export function toHardeningConfig(
  env: HardeningEnv,
  pathSecrets: readonly string[] | undefined,
): HardeningConfig {
  const tls =
    env.TLS_PORT !== undefined && env.TLS_CERT_FILE && env.TLS_KEY_FILE
      ? {
          port: env.TLS_PORT,
          certFile: env.TLS_CERT_FILE,
          keyFile: env.TLS_KEY_FILE,
          clientCaFile: env.TLS_CLIENT_CA_FILE,
          reloadCheckMs: env.TLS_RELOAD_CHECK_MS,
        }
      : undefined;
  return {
    server: {
      headersTimeoutMs: env.SERVER_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.SERVER_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: env.SERVER_KEEP_ALIVE_TIMEOUT_MS,
      stallTimeoutMs: env.QUERY_STALL_TIMEOUT_MS,
      maxRequestsPerSocket: env.SERVER_MAX_REQUESTS_PER_SOCKET,
      maxHeaderBytes: env.SERVER_MAX_HEADER_BYTES,
      maxConnections: env.SERVER_MAX_CONNECTIONS,
      maxConnectionsPerAddress: env.SERVER_MAX_CONNECTIONS_PER_ADDRESS,
    },
    tls,
    ingest: {
      requireClientCert: env.INGEST_REQUIRE_CLIENT_CERT,
      pathSecrets,
      pathSecretFile: pathSecrets === undefined ? undefined : env.INGEST_PATH_SECRET_FILE,
    },
    dedup: { windowMs: env.DEDUP_WINDOW_MS, maxEntries: env.DEDUP_MAX_ENTRIES },
    queryMaxBytes: env.QUERY_MAX_BYTES,
    readLimits: {
      maxInflightBytes: env.QUERY_MAX_INFLIGHT_BYTES,
      maxInflightBytesPerAddress: addressShare(
        env.QUERY_MAX_INFLIGHT_BYTES,
        env.QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS,
      ),
      stallMs: env.QUERY_STALL_TIMEOUT_MS,
      maxPinnedBytes: env.METRICS_MAX_PINNED_BYTES,
    },
    inflight: {
      maxBytes: env.INGEST_MAX_INFLIGHT_BYTES,
      maxBytesPerAddress: addressShare(
        env.INGEST_MAX_INFLIGHT_BYTES,
        env.INGEST_MAX_INFLIGHT_BYTES_PER_ADDRESS,
      ),
      maxPerAddress: env.INGEST_MAX_INFLIGHT_PER_ADDRESS,
    },
    allowedHosts: env.ALLOWED_HOSTS,
    streamLimits: {
      maxPerAddress: env.STREAM_MAX_CLIENTS_PER_ADDRESS,
      maxClientBufferedBytes: env.STREAM_CLIENT_MAX_BUFFERED_BYTES,
      maxBufferedBytes: env.STREAM_MAX_BUFFERED_BYTES,
    },
  };
}
