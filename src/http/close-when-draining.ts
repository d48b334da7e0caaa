import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { closeIfLast } from '../server/close-after-answer.js';
import type { Lifecycle } from '../server/lifecycle.js';

/**
 * While shutting down, keep-alive clients (Falco 0.36+ reuses one connection) are told to reconnect
 * elsewhere: the requests pipelined behind are left unrouted (closeIfLast), where a plain
 * `Connection: close` let them be routed, an alert stored, and their answers never written.
 * Decided again as the answer's headers are written, as the fast path does (fast-ingest.ts): a
 * request routed just before readiness turned off (a chunked alert whose body was still arriving)
 * was answered keep-alive after it, the sender's next alert went on that connection, and the
 * drain's idle sweep could close it with that alert unread.
 */
export function closeWhenDraining(lifecycle: Lifecycle): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    if (!lifecycle.isReady()) closeIfLast(res);
    else {
      // Every answer's headers pass here, Express's implicit ones (res.end) included.
      const writeHead = res.writeHead;
      res.writeHead = function (this: Response, ...args: Parameters<Response['writeHead']>) {
        if (!lifecycle.isReady()) closeIfLast(res);
        return writeHead.apply(this, args);
      } as Response['writeHead'];
    }
    next();
  };
}
