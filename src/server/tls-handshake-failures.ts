import type https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { countedLines, flushWhenClosed } from '../logging/counted-lines.js';
import { TLS_HANDSHAKE_FAILURE_REASONS, type TlsHandshakeFailureReason } from '../metrics/http-metrics.js';
import { rawSocketOf } from './raw-socket.js';
import { callerAddress } from '../logging/caller-address.js';

/** After a reason's first line, at most one line per this many ms, with the count since. */
export const TLS_FAILURE_LOG_EVERY_MS = 10_000;

const MAX_CODE_LENGTH = 64;

// The alerts a client sends when it refuses the server's certificate (OpenSSL's codes, as Node
// names them): ERR_SSL_TLSV1_ALERT_UNKNOWN_CA from a Falco given the wrong ca_cert.
const SERVER_CERT_REFUSED =
  /_ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_(UNKNOWN|EXPIRED|REVOKED|UNSUPPORTED))$/;

/** The code and reason of a failed handshake, or undefined for a client that only came and went. */
function classify(
  error: NodeJS.ErrnoException,
  tlsSocket: TLSSocket,
  raw: Socket | undefined,
): { reason: TlsHandshakeFailureReason; code: string } | undefined {
  // A refused certificate: Node verifies it after the handshake and destroys the socket, which
  // then reports ECONNRESET; authorizationError says why (CERT_HAS_EXPIRED, ...).
  const certError = tlsSocket.authorizationError as unknown as string | null | undefined;
  if (certError) return { reason: 'client_cert', code: certError };
  const code = error.code ?? 'unknown';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return { reason: 'client_cert', code };
  // A TCP probe or a port scan closes without a TLS error of its own; a connection that sent
  // nothing until the handshake timeout (a load balancer's spare connection) did not try either.
  if (code === 'ECONNRESET' || code === 'EPIPE') return undefined;
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT' && (raw?.bytesRead ?? 0) === 0 && tlsSocket.bytesRead === 0)
    return undefined;
  return { reason: SERVER_CERT_REFUSED.test(code) ? 'server_cert' : 'handshake', code };
}

/** How many callers (address and code) a line names; the others are counted in `otherCallers`. */
export const MAX_CALLERS_PER_LINE = 10;

interface CallerCount {
  caller: string | undefined;
  code: string;
  count: number;
}

/**
 * Counts and logs the handshakes the TLS listener fails. Without this a Falco sensor whose
 * certificate had expired, which did not trust the receiver's, or whose http_output pointed
 * http:// at the TLS port, lost every alert with no metric and no log line: Node fails those
 * connections before any request exists. Each is counted; the lines, which any client that can
 * connect could otherwise make one of per connection (2,926 lines in 3 s from one process sending
 * 8 bytes each), are the first of each reason at once and then one per TLS_FAILURE_LOG_EVERY_MS
 * with the count since and up to MAX_CALLERS_PER_LINE callers, each with its code and count: with
 * only the newest caller, a client failing all the time hid a sensor that began to fail from every
 * line. What a period holds back is written when the listener closes or the process exits (a
 * shutdown past its deadline exits before the listener has closed).
 */
export function reportTlsHandshakeFailures(
  server: https.Server,
  logger: Logger | undefined,
  onFailure: (reason: TlsHandshakeFailureReason) => void,
): void {
  // Node forgets the peer's address once it destroys a socket whose certificate it refused; read
  // now, the raw socket keeps it (connections-per-address reads it too).
  server.on('connection', (socket: Socket) => void socket.remoteAddress);
  const perReason = TLS_HANDSHAKE_FAILURE_REASONS.map((reason) => {
    // The callers since the last line, by address and code; bounded, the rest only counted.
    let callers = new Map<string, CallerCount>();
    let otherCallers = 0;
    const lines = countedLines<undefined>(TLS_FAILURE_LOG_EVERY_MS, (count) => {
      logger?.warn(
        {
          event: 'tls_handshake_failed',
          reason,
          count,
          callers: [...callers.values()],
          ...(otherCallers > 0 ? { otherCallers } : {}),
        },
        'TLS handshake failed',
      );
      callers = new Map();
      otherCallers = 0;
    });
    const add = (caller: string | undefined, code: string) => {
      const key = `${caller ?? ''} ${code}`;
      const known = callers.get(key);
      if (known) known.count++;
      else if (callers.size < MAX_CALLERS_PER_LINE) callers.set(key, { caller, code, count: 1 });
      else otherCallers++;
      lines.add(1, undefined);
    };
    return [reason, { add, flush: () => lines.flush() }] as const;
  });
  const byReason = new Map(perReason);
  flushWhenClosed(server, () => byReason.forEach((each) => each.flush()));
  server.on('tlsClientError', (error: NodeJS.ErrnoException, tlsSocket: TLSSocket) => {
    const raw = rawSocketOf(tlsSocket);
    const failure = classify(error, tlsSocket, raw);
    if (!failure) return;
    onFailure(failure.reason);
    // Codes come from OpenSSL and Node, not from the client; cut all the same.
    byReason
      .get(failure.reason)!
      .add(
        callerAddress(tlsSocket.remoteAddress ?? raw?.remoteAddress),
        failure.code.slice(0, MAX_CODE_LENGTH),
      );
  });
}
