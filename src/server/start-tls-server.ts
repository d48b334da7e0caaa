import https from 'node:https';
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import type { ServerLimits, TlsConfig } from '../config/hardening-config.js';
import type {
  ClientErrorReason,
  ConnectionRefusalReason,
  TlsHandshakeFailureReason,
} from '../metrics/http-metrics.js';
import { rememberClientIdentity } from '../http/client-identity.js';
import { flushWhenClosed } from '../logging/counted-lines.js';
import { continueOnRead } from './continue-on-read.js';
import { answerClientErrors, applyServerLimits, listenerOptions, requireHost } from './server-limits.js';
import { listen } from './start-server.js';
import type { ClusterTls } from './cluster-tls-files.js';
import {
  loadTlsCredentials,
  reloadOnChange,
  type TlsCredentialMetrics,
  type TlsCredentials,
} from './tls-credentials.js';
import { reportTlsHandshakeFailures } from './tls-handshake-failures.js';

/**
 * The optional HTTPS listener for Falco's `http_output` with `ca_cert` (and `mtls`). With a client
 * CA, a client without a certificate signed by it fails the handshake and never reaches the app
 * (counted and logged, tls-handshake-failures.ts).
 */
export async function startTlsServer(
  app: RequestListener,
  options: {
    host: string;
    tls: TlsConfig;
    limits?: ServerLimits;
    onRefusedConnection?: (reason: ConnectionRefusalReason) => void;
    onClientError?: (reason: ClientErrorReason) => void;
    /** Writes the app's held-back counted lines at this listener's close (ServerOptions.flushLines). */
    flushLines?: () => void;
    /** Where failed handshakes (`tls_handshake_failed`) and refused connections are logged. */
    logger?: Logger;
    onTlsHandshakeFailure?: (reason: TlsHandshakeFailureReason) => void;
    /** Where the certificate's expiry and its reloads are counted. */
    credentialMetrics?: TlsCredentialMetrics;
    /** WORKERS > 1: what the other workers serve, and where this one says what it serves. */
    clusterTls?: ClusterTls;
    /** The files as loadTlsCredentials read them before any listener was up (main.ts); else read here. */
    credentials?: TlsCredentials;
  },
): Promise<https.Server> {
  const { tls } = options;
  const verifyClients = tls.clientCaFile !== undefined;
  const credentialOptions = {
    logger: options.logger,
    metrics: options.credentialMetrics,
    clusterTls: options.clusterTls,
  };
  const credentials = options.credentials ?? loadTlsCredentials(tls, credentialOptions);
  const server = https.createServer(
    {
      ...listenerOptions(options.limits),
      ...credentials.options,
      // A handshake is the start of a request: a client gets SERVER_HEADERS_TIMEOUT_MS for both, where
      // Node's own 120 s let a silent connection hold its slot twelve times as long.
      ...(options.limits ? { handshakeTimeout: options.limits.headersTimeoutMs } : {}),
      ...(verifyClients ? { requestCert: true, rejectUnauthorized: true } : {}),
    },
    requireHost(app, options.onClientError),
  );
  applyServerLimits(server, options.limits, options.onRefusedConnection, options.logger);
  answerClientErrors(server, options.onClientError);
  reportTlsHandshakeFailures(server, options.logger, options.onTlsHandshakeFailure ?? (() => {}));
  if (options.flushLines) flushWhenClosed(server, options.flushLines);
  continueOnRead(server);
  // Read while the connection is sure to be open, not at an alert's later turn (client-identity.ts).
  if (verifyClients) server.on('secureConnection', rememberClientIdentity);
  reloadOnChange(server, tls, credentials, credentialOptions);
  return listen(server, options.host, tls.port);
}
