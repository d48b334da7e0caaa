import type http from 'node:http';
import type https from 'node:https';

/**
 * Answers `Expect: 100-continue` (libcurl sends it before a large body) with `100 Continue` only
 * once a route starts reading the body. Node's own handling sends it before any route runs, which
 * invites the body of a request the route then refuses unread: a 413 above `BODY_LIMIT_BYTES`, a
 * 503 when ingest sheds, a 401. Those now get their final answer alone (RFC 9110, section 10.1.1).
 */
export function continueOnRead(server: http.Server | https.Server): void {
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Every body reader here (the ingest fast path, raw-body) reads with 'data'.
    req.once('resume', () => {
      if (!res.headersSent && !res.writableEnded) res.writeContinue();
    });
    server.emit('request', req, res);
  });
}
