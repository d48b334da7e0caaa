import type http from 'node:http';

// Set on a connection once an answer that closes it is under way: the requests pipelined behind it
// are not routed, as its answer's Connection: close says (RFC 9112, section 9.6).
const CLOSING = Symbol('an answer that closes this connection is under way');

interface ClosingSocket {
  [CLOSING]?: boolean;
}

/**
 * Makes `res` the last answer of its connection: `Connection: close`, and no request pipelined
 * behind it is routed (requireHost), so none is acted on whose answer would never be written. Only
 * while the request is still arriving: once it has arrived whole, node:http may have parsed and
 * routed the requests behind it already (it parses all a read brought).
 */
export function closeAfterAnswer(res: http.ServerResponse): void {
  (res.req.socket as ClosingSocket)[CLOSING] = true;
  res.setHeader('Connection', 'close');
}

/** Whether `req` came behind an answer that closes its connection: it is never routed or answered. */
export function behindClose(req: http.IncomingMessage): boolean {
  return (req.socket as ClosingSocket)[CLOSING] === true;
}
