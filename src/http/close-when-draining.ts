import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { closeIfLast } from '../server/close-after-answer.js';
import type { Lifecycle } from '../server/lifecycle.js';

/**
 * While shutting down, keep-alive clients (Falco 0.36+ reuses one connection) are told to reconnect
 * elsewhere: the requests pipelined behind are left unrouted (closeIfLast), where a plain
 * `Connection: close` let them be routed, an alert stored, and their answers never written.
 */
export function closeWhenDraining(lifecycle: Lifecycle): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    if (!lifecycle.isReady()) closeIfLast(res);
    next();
  };
}
