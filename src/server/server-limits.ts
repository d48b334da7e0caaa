import type http from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { buildProblem, problemBody, rawProblemAnswer, type Problem } from '../http/problem.js';
import type { ClientErrorReason, ConnectionRefusalReason } from '../metrics/http-metrics.js';
import type { ServerLimits } from '../config/hardening-config.js';
import { behindClose, closeAfterAnswer, noteRequest, refuseAfterAnswers } from './close-after-answer.js';
import { closeWhileBodyArrives } from './close-while-body-arrives.js';
import { limitConnections } from './connections-per-address.js';
import { lingerAfterParseError, lingerThenReset } from './linger-close.js';
import { logRefusedConnections } from './log-refused-connections.js';

/**
 * Options that only work at creation time (the header size cap and the timeout check interval).
 * Node's own Host check is off: `requireHost` gives its refusal the service's form.
 */
export function listenerOptions(limits: ServerLimits | undefined): http.ServerOptions {
  if (!limits) return { requireHostHeader: false };
  return {
    requireHostHeader: false,
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks header/request deadlines on this interval (30 s by default), so short timeouts need a short one.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))),
  };
}

const CLIENT_ERRORS: Record<string, { reason: ClientErrorReason; problem: () => Problem }> = {
  HPE_HEADER_OVERFLOW: {
    reason: 'header_too_large',
    problem: () =>
      buildProblem('header-fields-too-large', {
        detail: 'The request headers exceed SERVER_MAX_HEADER_BYTES.',
      }),
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    reason: 'timeout',
    problem: () =>
      buildProblem('request-timeout', {
        detail: 'The request did not arrive within SERVER_HEADERS_TIMEOUT_MS / SERVER_REQUEST_TIMEOUT_MS.',
      }),
  },
};

/**
 * Whether `socket` has ended already (an answer written, its close under way or lingering:
 * linger-close.ts); if so its parser is detached and the close lingers on. Nothing more may be
 * said on it, nor counted; cut, it reset the answer already written away from a client still
 * sending.
 */
function lingerOnIfEnded(socket: Duplex): boolean {
  if (socket.writable) return false;
  lingerAfterParseError(socket as Socket);
  return true;
}

/**
 * Answers what Node's HTTP parser refuses (an unknown method, a malformed request line, headers
 * past the cap, a request that took too long) as every other refusal is answered: problem+json,
 * counted, then the connection is closed. Node's default answer is a bare status line.
 */
export function answerClientErrors(
  server: http.Server | https.Server,
  onClientError: (reason: ClientErrorReason) => void = () => {},
): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // The client is gone, or an answer has already begun on this socket: nothing can be said.
    // The TLS listener hands its failed handshakes here too (https.Server forwards tlsClientError):
    // an HTTP answer written into a handshake that never finished waited there for ever, so the
    // socket stayed open (garbage sent to the TLS port, then silence, held its connection until the
    // client left) and held a graceful shutdown to its deadline. Those are counted by
    // tls-handshake-failures.ts; a TLS error on an established connection is only closed.
    const handshaking = (socket as { _secureEstablished?: boolean })._secureEstablished === false;
    const tlsFailure = handshaking || /^ERR_(SSL|TLS)_/.test(error.code ?? '');
    if (error.code === 'ECONNRESET' || tlsFailure) {
      socket.destroy();
      return;
    }
    // A refusal of an earlier read, or behind an answer already written.
    if (lingerOnIfEnded(socket)) return;
    const known = CLIENT_ERRORS[error.code ?? ''];
    const reason = known?.reason ?? 'malformed';
    const problem =
      known?.problem() ?? buildProblem('invalid-request', { detail: 'The request is not valid HTTP/1.1.' });
    // Closed with a lingering close (at most LINGER_MS): destroyed once the answer is out, it was
    // reset away from a client still sending; ended alone (the server allows half-open sockets), a
    // client that never closes its side would hold the descriptor. Written after the answers
    // of the requests routed ahead of it (refuseAfterAnswers): an answer under way by then (a
    // request's own body refused while its answer streams) can only be cut, and a socket the
    // last of those answers closed is gone. (Node sets _httpMessage to null between requests.)
    const refuse = () => {
      const answering = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
      if (!socket.writable || answering?.headersSent === true) socket.destroy();
      else lingerAfterParseError(socket as Socket, rawProblemAnswer(problem));
    };
    // A request a route already has (its body cut short or too slow) is counted there
    // (incomplete_body): one count per request. Only the answer is written here.
    if (refuseAfterAnswers(socket, refuse, reason === 'timeout')) onClientError(reason);
  });
  // An Expect other than 100-continue (RFC 9110, section 10.1.1): without a listener Node answered a
  // bare 417, keep-alive, that no log or metric saw, and an alert posted with one was lost unseen.
  // Answered as the parser's other refusals are, its body unread, so the connection is closed.
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (behindClose(req, res)) return;
    noteRequest(req);
    onClientError('malformed');
    const problem = buildProblem('expectation-failed', {
      detail: 'Only Expect: 100-continue is supported; send the request without this Expect header.',
      header: 'Expect',
    });
    writeProblem(res, problem);
  });
  // CONNECT (a proxy's tunnel): Node hands it here, not to the app, and without a listener drops
  // the connection without a word. node:http has detached its parser and every listener of its own
  // ('error' too), and left the socket unread; what came behind the CONNECT in the same read (`head`)
  // is dropped with the rest of what the client sends.
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    // Read behind an answer that ended the connection, it is dropped unseen as every request read
    // then is: written after the end, its answer was an 'error' with no listener left (node:http
    // removes its own here), and the process died. Destroyed here, the answer already written was
    // reset away (a 404 to a 4 MB body, a CONNECT and 4 MB more, lost in 5 of 5 runs).
    if (lingerOnIfEnded(socket)) return;
    const problem = buildProblem('method-not-allowed', {
      detail: 'This is not a proxy: CONNECT is not served.',
    });
    // Closed as the parser's refusals are (lingering, what follows read and dropped): destroyed once
    // the 405 had left, a client still sending behind its CONNECT (a tunnel's first bytes) was reset,
    // and one that read once it had sent 4 MB lost the 405 in 56 of 60 runs. The lingering close
    // also hears the socket's 'error': written with no listener, a 405 to a client that reset
    // raised one no one heard, which killed the process.
    const refuse = () => {
      if (!lingerOnIfEnded(socket)) lingerAfterParseError(socket as Socket, rawProblemAnswer(problem));
    };
    // Written after the answers of the requests routed ahead of it, as the parser's refusals are:
    // written at once, an alert pipelined ahead lost its 202 (written after the end), and the
    // socket, lingering, counted as having nothing left to deliver at a shutdown's deadline. Heard
    // meanwhile: an answer ahead written to a client that reset raised an 'error' no one heard.
    socket.on('error', () => socket.destroy());
    if (refuseAfterAnswers(socket, refuse)) onClientError('malformed');
  });
}

/**
 * Refuses an HTTP/1.1 request without a Host header (RFC 9112 section 3.2) as the parser's other
 * refusals are: problem+json, counted as malformed, the connection closed. Node's own check
 * answered a bare 400 that no metric or log saw.
 */
export function requireHost(
  app: http.RequestListener,
  onClientError: (reason: ClientErrorReason) => void = () => {},
): http.RequestListener {
  return (req, res) => {
    // Pipelined behind an answer that closes the connection: before, an alert sent there was
    // stored and its answer never written, so its sender could not tell it from a lost one.
    if (behindClose(req, res)) return;
    noteRequest(req);
    // A request asking to upgrade (h2c, a WebSocket), which is not served: node:http stops parsing
    // its read there and, with no 'upgrade' listener, drops the rest of it, so a request pipelined
    // behind got no answer on a connection kept open, and took the next one's. Its answer closes
    // the connection instead: the client sends what it had pipelined again.
    if (asksToUpgrade(req)) closeAfterAnswer(res);
    // An answer written while its body is still arriving (the route did not need it) closes the
    // connection: read and dropped, a body trickled for SERVER_REQUEST_TIMEOUT_MS held it open.
    closeWhileBodyArrives(req, res);
    if (req.headers.host !== undefined || req.httpVersion !== '1.1') return app(req, res);
    onClientError('malformed');
    const problem = buildProblem('invalid-request', {
      detail: 'An HTTP/1.1 request needs a Host header (RFC 9112, section 3.2).',
    });
    writeProblem(res, problem);
  };
}

/** Whether node:http's parser took `req` for an upgrade (RFC 9110, section 7.8): an Upgrade, named in Connection. */
function asksToUpgrade(req: http.IncomingMessage): boolean {
  const { upgrade, connection } = req.headers;
  return upgrade !== undefined && connection !== undefined && /(?:^|,)\s*upgrade\s*(?:,|$)/i.test(connection);
}

/**
 * Answers `problem` on a response no app route serves, and closes the connection after it: the
 * requests pipelined behind it are left unrouted (requireHost), their senders free to send them again.
 */
function writeProblem(res: http.ServerResponse, problem: Problem): void {
  closeAfterAnswer(res);
  const body = problemBody(problem);
  res
    .writeHead(problem.status, {
      'Content-Type': 'application/problem+json; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'Content-Length': Buffer.byteLength(body),
    })
    .end(body);
}

/**
 * Sets the keep-alive limits (idle sockets close after keepAliveTimeout, busy ones after N
 * requests) and the connection caps, counting and logging each connection they close.
 */
export function applyServerLimits(
  server: http.Server | https.Server,
  limits: ServerLimits | undefined,
  onRefusedConnection: (reason: ConnectionRefusalReason) => void = () => {},
  logger?: Logger,
): void {
  if (!limits) return;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // Idle past it (node:http's only socket timeout here: server.timeout is 0), counted from when
  // its answer was handed to the kernel, which may still hold up to 4 MiB of it: closed with a FIN
  // and reset once its client has read to it and closed, or after QUERY_STALL_TIMEOUT_MS. Reset at
  // once, a client reading slower than it was written lost the rest; closed with a FIN alone, one
  // that never read left it in the kernel for as long as it kept acknowledging (linger-close.ts).
  server.on('timeout', (socket: Socket) => lingerThenReset(socket, limits.stallTimeoutMs));
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  const log = logger ? logRefusedConnections(server, logger) : () => {};
  limitConnections(
    server,
    { total: limits.maxConnections, perAddress: limits.maxConnectionsPerAddress },
    (reason, caller) => {
      onRefusedConnection(reason);
      log(reason, caller);
    },
  );
}
