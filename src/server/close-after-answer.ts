import type http from 'node:http';
import type { Duplex } from 'node:stream';

// The answer that closes the connection, once one is under way: the requests pipelined behind it
// are not routed, as its Connection: close says (RFC 9112, section 9.6). The first one set wins.
const CLOSING = Symbol('the answer that closes this connection');
// Requests node:http has read on the connection, and which of them a request was (noteRequest):
// numbers, so that an idle connection holds no request and its body.
const READ = Symbol('requests read on this connection');
const NUMBER = Symbol('which request of its connection this is');

// Set once a refusal of the parser waits for the answers ahead of it (refuseAfterAnswers).
const REFUSING = Symbol('a refusal waiting for the answers ahead of it');

interface ClosingSocket {
  [CLOSING]?: http.ServerResponse;
  [READ]?: number;
  [REFUSING]?: boolean;
  // The answer node:http writes next on the connection (null between requests).
  _httpMessage?: http.ServerResponse | null;
  // Its parser, and the last request that parser handed over (kept until the next one).
  parser?: { incoming?: http.IncomingMessage | null } | null;
}

interface NumberedRequest {
  [NUMBER]?: number;
}

function markClosing(res: http.ServerResponse): void {
  (res.req.socket as ClosingSocket)[CLOSING] ??= res;
}

/**
 * Makes `res` the last answer of its connection: `Connection: close`, and no request pipelined
 * behind it is routed (requireHost), so none is acted on whose answer would never be written. Only
 * while the request is still arriving (as it is handed over, or its body not yet whole): once it
 * has arrived whole, node:http may have parsed and routed the requests behind it already (it
 * parses all a read brought). Elsewhere, closeIfLast.
 */
export function closeAfterAnswer(res: http.ServerResponse): void {
  markClosing(res);
  res.setHeader('Connection', 'close');
}

/**
 * For an answer already written that must still be its connection's last (its request's body is
 * still arriving, or closeAfterAnswer was set and a route's own `Connection` header overrode it):
 * no request behind it is routed, and the connection ends once what is written has left (ended,
 * not destroyed: cut at once, the answer could be lost with it; lingering where lingerOnClose was set).
 */
export function endAfterAnswer(res: http.ServerResponse): void {
  markClosing(res);
  res.req.socket.destroySoon();
}

/** Whether `res` was made the last answer of its connection (closeAfterAnswer, closesIfLast). */
export function closesConnection(res: http.ServerResponse): boolean {
  return (res.req.socket as ClosingSocket)[CLOSING] === res;
}

/** Whether `req` came behind another answer that closes its connection: it is never routed or answered. */
export function behindClose(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const closing = (req.socket as ClosingSocket)[CLOSING];
  return closing !== undefined && closing !== res;
}

/** Called for every request routed as node:http hands it over (requireHost): the last one read on its connection. */
export function noteRequest(req: http.IncomingMessage): void {
  const socket = req.socket as ClosingSocket;
  const read = (socket[READ] ?? 0) + 1;
  socket[READ] = read;
  (req as NumberedRequest)[NUMBER] = read;
}

/**
 * For an answer that may close its connection but need not (one-shot senders, draining, shedding):
 * closes it only if no request has been read behind its own yet, and then none will be routed. One
 * read behind it may have been routed already (node:http hands over all a read brought, and a route
 * past Express's hundredth layer, or an alert answered after its group commit, answers a loop turn
 * or more later): closed, it was acted on and its answer never written, so the connection is kept
 * and that request answered. Returns whether `res` closes; the caller says so in its headers.
 * A request marked so once is still the last (those behind it are not noted), and its answer closes.
 * A server without requireHost (tests of the bare app) notes no request: its answers close.
 */
export function closesIfLast(res: http.ServerResponse): boolean {
  const number = (res.req as NumberedRequest)[NUMBER];
  if (number !== undefined && number !== (res.req.socket as ClosingSocket)[READ]) return false;
  markClosing(res);
  return true;
}

/** closesIfLast for an answer not yet begun: sets its `Connection: close` when it closes. */
export function closeIfLast(res: http.ServerResponse): void {
  if (closesIfLast(res)) res.setHeader('Connection', 'close');
}

/**
 * For what the parser refused (clientError): runs `refuse`, which answers on the raw socket and
 * closes it, once every request routed on the connection has its answer written. Written at once,
 * it came ahead of those answers: a client read it as the answer to its alert, stored all the same,
 * whose own answer was never written. At once when nothing is waiting, or when the last request
 * routed is still arriving and its answer is next: then the refusal is about its body, which its
 * route will never have whole. Such a request behind other answers is refused once they are
 * written, not waited for: its answer waits for a body the parser reads no more of, and a
 * connection with a chunked request refused behind a quick answer was held open for ever (past
 * SERVER_REQUEST_TIMEOUT_MS, whose own refusal was dropped). The parser routes nothing after its
 * refusal; the refusals after it on the connection (every read after a parse error is one) are
 * dropped, but for a timeout (`timedOut`): then the answers still waited for have had the time a
 * request is given, and the connection is cut. Returns whether the refusal is of a request no
 * route has, to be counted: the route of one still arriving counts it (incomplete_body).
 */
export function refuseAfterAnswers(socket: Duplex, refuse: () => void, timedOut = false): boolean {
  const closing = socket as Duplex & ClosingSocket;
  if (closing[REFUSING] === true) {
    // What a refusal waits for can be an answer not yet begun when it came (a live stream routed a
    // loop turn later) that then never ends: a chunked alert refused in its body behind a stream,
    // in one write, held its connection and its share of the ingest budget for as long as the
    // stream lasted, the request timeout's refusal dropped. That timeout is the bound.
    if (timedOut) closing.destroy();
    return false;
  }
  const pending = closing._httpMessage;
  const number = pending == null ? undefined : (pending.req as NumberedRequest)[NUMBER];
  if (pending == null || number === undefined || (number === closing[READ] && !pending.req.complete)) {
    refuse();
    return pending == null;
  }
  closing[REFUSING] = true;
  const last = closing.parser?.incoming;
  const arriving = last != null && !last.complete;
  // node:http hands the connection to the next answer waiting before the last one's 'close'. Only
  // the last request handed over can still be arriving.
  const next = (): void => {
    if (closing.destroyed) return;
    const waiting = closing._httpMessage;
    if (waiting == null || !waiting.req.complete) return refuse();
    // A request still arriving holds what its route reserved (its body's share of the ingest budget)
    // until its connection ends: not for as long as an answer streaming ahead of it, which may never
    // end (a live stream), as it did once waited for (past SERVER_REQUEST_TIMEOUT_MS, other senders'
    // alerts shed meanwhile). Cut, as an answer under way is at its own refusal.
    if (arriving && waiting.headersSent && !waiting.writableEnded) return void closing.destroy();
    waiting.once('close', next);
  };
  next();
  return !arriving;
}
