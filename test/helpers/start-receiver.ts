import type http from 'node:http';
import type https from 'node:https';
import { Writable } from 'node:stream';
import type { ServerLimits, TlsConfig } from '../../src/config/hardening-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createReceiver } from '../../src/create-receiver.js';
import { createLogger } from '../../src/logging/create-logger.js';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { startTlsServer } from '../../src/server/start-tls-server.js';

export interface ReceiverOptions {
  limits?: ServerLimits;
  tls?: Pick<TlsConfig, 'certFile' | 'keyFile' | 'clientCaFile'> & { reloadCheckMs?: number };
  pathSecret?: string;
  requireClientCert?: boolean;
  dedupWindowMs?: number;
  bodyLimitBytes?: number;
  /** More environment variables, applied last (the service's own config loader reads them). */
  env?: Record<string, string>;
  /** Keep every log line as an object (off for long fuzz runs, which only count them). */
  keepLogLines?: boolean;
}

/** The service's default server limits, with the connection caps given. */
export const connectionLimits = (maxConnections: number, maxConnectionsPerAddress: number): ServerLimits => ({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  stallTimeoutMs: 30_000,
  maxRequestsPerSocket: 0,
  maxHeaderBytes: 16_384,
  maxConnections,
  maxConnectionsPerAddress,
});

/** A receiver wired as main.ts wires it, listening on 127.0.0.1 with ephemeral ports. */
export interface TestReceiver {
  port: number;
  tlsPort?: number;
  server: http.Server;
  tlsServer?: https.Server;
  logLines: Array<Record<string, unknown>>;
  rawLog: () => string;
  metricsText: () => Promise<string>;
  close: () => Promise<void>;
}

// The options as the environment variables main.ts would read, so the service's own config loader runs.
function toEnv(options: ReceiverOptions): Record<string, string> {
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    METRICS_MAX_RULES: '50',
    METRICS_MAX_HOSTNAMES: '50',
    METRICS_MAX_EXTRA_LABEL_VALUES: '10',
    STORE_MAX_ALERTS: '1000',
    STORE_MAX_BYTES: String(16 * 1024 * 1024),
    BODY_LIMIT_BYTES: String(options.bodyLimitBytes ?? 1024 * 1024),
  };
  if (options.limits) {
    env['SERVER_HEADERS_TIMEOUT_MS'] = String(options.limits.headersTimeoutMs);
    env['SERVER_REQUEST_TIMEOUT_MS'] = String(options.limits.requestTimeoutMs);
    env['SERVER_KEEP_ALIVE_TIMEOUT_MS'] = String(options.limits.keepAliveTimeoutMs);
    env['QUERY_STALL_TIMEOUT_MS'] = String(options.limits.stallTimeoutMs);
    env['SERVER_MAX_REQUESTS_PER_SOCKET'] = String(options.limits.maxRequestsPerSocket);
    env['SERVER_MAX_HEADER_BYTES'] = String(options.limits.maxHeaderBytes);
    env['SERVER_MAX_CONNECTIONS'] = String(options.limits.maxConnections);
    env['SERVER_MAX_CONNECTIONS_PER_ADDRESS'] = String(options.limits.maxConnectionsPerAddress);
  }
  if (options.tls) {
    env['TLS_PORT'] = '0';
    env['TLS_CERT_FILE'] = options.tls.certFile;
    env['TLS_KEY_FILE'] = options.tls.keyFile;
    if (options.tls.clientCaFile) env['TLS_CLIENT_CA_FILE'] = options.tls.clientCaFile;
    if (options.tls.reloadCheckMs) env['TLS_RELOAD_CHECK_MS'] = String(options.tls.reloadCheckMs);
  }
  if (options.pathSecret) env['INGEST_PATH_SECRET'] = options.pathSecret;
  if (options.requireClientCert) env['INGEST_REQUIRE_CLIENT_CERT'] = 'true';
  if (options.dedupWindowMs) {
    env['DEDUP_WINDOW_MS'] = String(options.dedupWindowMs);
    env['DEDUP_MAX_ENTRIES'] = '100';
  }
  return { ...env, ...options.env };
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<TestReceiver> {
  const logLines: Array<Record<string, unknown>> = [];
  let raw = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (options.keepLogLines !== false) {
        const text = chunk.toString('utf8');
        raw += text;
        for (const line of text.split('\n').filter(Boolean))
          logLines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const loaded = loadConfig(toEnv(options));
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const { config } = loaded;
  const logger = createLogger({ level: 'info', destination });
  const receiver = createReceiver(config, { logger, processMetrics: false });
  const limits = options.limits ? config.hardening.server : undefined;
  const onRefusedConnection = receiver.metrics.recordRefusedConnection;
  const onClientError = receiver.metrics.recordClientError;
  const { flushLines } = receiver;
  const server = await startServer(receiver.app, {
    host: '127.0.0.1',
    port: 0,
    limits,
    onRefusedConnection,
    onClientError,
    logger,
    flushLines,
  });
  let tlsServer: https.Server | undefined;
  if (config.hardening.tls) {
    tlsServer = await startTlsServer(receiver.app, {
      host: '127.0.0.1',
      tls: config.hardening.tls,
      limits,
      onRefusedConnection,
      onClientError,
      logger,
      flushLines,
      onTlsHandshakeFailure: receiver.metrics.recordTlsHandshakeFailure,
      credentialMetrics: receiver.metrics,
    });
  }
  const closeOne = (each: http.Server | https.Server) =>
    new Promise<void>((resolve) => {
      each.close(() => resolve());
      each.closeAllConnections();
    });
  return {
    port: boundPort(server),
    tlsPort: tlsServer ? boundPort(tlsServer) : undefined,
    server,
    tlsServer,
    logLines,
    rawLog: () => raw,
    metricsText: () => receiver.metrics.registry.metrics(),
    close: async () => {
      receiver.stream.closeAll();
      await Promise.all([server, ...(tlsServer ? [tlsServer] : [])].map(closeOne));
      // A shared store's links and live reader (STORE_URL in `env`) end with it.
      await receiver.closeStore(0);
    },
  };
}
