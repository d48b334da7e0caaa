import type https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';

/**
 * Why a client failed the TLS listener's handshake: `client_cert`, its certificate missing or not
 * verified by TLS_CLIENT_CA_FILE (another CA, expired, not yet valid); `handshake`, any other
 * failure (plain HTTP sent to the TLS port, a TLS version or cipher not offered, too slow).
 */
export type TlsHandshakeFailureReason = 'client_cert' | 'handshake';

const MAX_CODE_LENGTH = 64;

/**
 * Counts and logs the handshakes the TLS listener fails. Without this a Falco sensor whose
 * certificate had expired, or whose http_output pointed http:// at the TLS port, lost every alert
 * with no metric and no log line: Node fails those connections before any request exists. A client
 * that leaves without a TLS error of its own (a TCP probe, a port scan) is neither counted nor logged.
 */
export function reportTlsHandshakeFailures(
  server: https.Server,
  logger: Logger | undefined,
  onFailure: (reason: TlsHandshakeFailureReason) => void,
): void {
  // Node forgets the peer's address once it destroys a socket whose certificate it refused; read
  // now, the raw socket keeps it (connections-per-address reads it too).
  server.on('connection', (socket: Socket) => void socket.remoteAddress);
  server.on('tlsClientError', (error: NodeJS.ErrnoException, tlsSocket: TLSSocket) => {
    // A refused certificate: Node verifies it after the handshake and destroys the socket, which
    // then reports ECONNRESET; authorizationError says why (CERT_HAS_EXPIRED, ...).
    const certError = tlsSocket.authorizationError as unknown as string | null | undefined;
    const noCertificate = error.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE';
    if (!certError && !noCertificate && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) return;
    const reason: TlsHandshakeFailureReason = certError || noCertificate ? 'client_cert' : 'handshake';
    onFailure(reason);
    const parent = (tlsSocket as unknown as { _parent?: Socket | null })._parent;
    // Codes come from OpenSSL and Node, not from the client; cut all the same.
    const code = String(certError || error.code || 'unknown').slice(0, MAX_CODE_LENGTH);
    logger?.warn(
      {
        event: 'tls_handshake_failed',
        reason,
        code,
        caller: tlsSocket.remoteAddress ?? parent?.remoteAddress,
      },
      'TLS handshake failed',
    );
  });
}
