import http from 'node:http';
import { closeAfterAnswer, closesConnection, endAfterAnswer } from './close-after-answer.js';
import { lingerOnClose } from './linger-close.js';

type WriteHead = http.ServerResponse['writeHead'];

// What a request's answer writes its headers with; Express's responses inherit it.
const { writeHead } = http.ServerResponse.prototype;

/** Whether `req` has a body (a length above 0, or chunked): one without is whole once its headers are. */
function declaresBody(req: http.IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
}

// Ends the connection once the answer has left if the body is still arriving now that the read
// the answer was written in is parsed, or if a route's own header kept alive what was to close.
function endIfArriving(res: http.ServerResponse): void {
  if (res.req.socket.destroyed) return;
  if (!res.req.complete || closesConnection(res)) endAfterAnswer(res);
}

// The answer's 'finish' comes too early to tell: node:http runs the process.nextTick queue (where
// it is emitted) and the microtasks as soon as the route it handed the headers to returns, before
// it parses the body behind them in the same read. Checked then, an answer written at once was
// taken for one whose body was still arriving: its connection cut with no Connection: close said,
// and the request pipelined behind in that read never answered. Checked in the next loop turn,
// once that read is parsed whole.
function endIfArrivingOnceParsed(this: http.ServerResponse): void {
  setImmediate(endIfArriving, this);
}

// Every answer's headers pass here, Express's implicit ones (res.end) included.
function writeHeadClosing(this: http.ServerResponse, ...args: Parameters<WriteHead>): http.ServerResponse {
  if (!this.req.complete) {
    // More declared than the connection has read in all: the body is still arriving for sure, and
    // the answer says it closes. Otherwise it may have come whole in the read whose headers are
    // being handed over (a route that answers at once runs before the parser reaches the body):
    // known once the answer is written and that read parsed; closed then, so requests pipelined
    // behind such a body in one write are still answered.
    if (Number(this.req.headers['content-length']) > this.req.socket.bytesRead) closeAfterAnswer(this);
    // Closed, the connection reads and drops the rest of the body for a while: cut at once, the
    // answer could be reset away.
    lingerOnClose(this.req.socket);
    this.once('finish', endIfArrivingOnceParsed);
  }
  return (writeHead as (...all: Parameters<WriteHead>) => http.ServerResponse).apply(this, args);
}

/**
 * Closes the connection after an answer written while its request's body is still arriving
 * (`GET /healthz` declaring 100,000 bytes, then a byte a second): node:http read and dropped such a
 * body until SERVER_REQUEST_TIMEOUT_MS, and the connection cap's sweep spares a connection whose
 * request has begun, so 9,800 of them from 42 addresses held SERVER_MAX_CONNECTIONS and every other
 * client got 503 (probe of 2026-12-06). Said in the answer (`Connection: close`) when the body is
 * known to be unfinished as its headers are written; the connection is ended once the answer has
 * left, what the client still sends read and dropped for up to LINGER_MS (lingerOnClose), and no
 * request behind it is routed (closeAfterAnswer, endAfterAnswer). An answer written after its
 * body arrived whole (every alert Falco sends) keeps its connection, as before.
 */
export function closeWhileBodyArrives(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (declaresBody(req)) res.writeHead = writeHeadClosing as WriteHead;
}
