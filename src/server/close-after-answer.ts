import type http from 'node:http';

// The answer that closes the connection, once one is under way: the requests pipelined behind it
// are not routed, as its Connection: close says (RFC 9112, section 9.6). The first one set wins.
const CLOSING = Symbol('the answer that closes this connection');
// Requests node:http has read on the connection, and which of them a request was (noteRequest):
// numbers, so that an idle connection holds no request and its body.
const READ = Symbol('requests read on this connection');
const NUMBER = Symbol('which request of its connection this is');

interface ClosingSocket {
  [CLOSING]?: http.ServerResponse;
  [READ]?: number;
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
