import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Lifecycle } from '../server/lifecycle.js';

/**
 * While shutting down, keep-alive clients (Falco 0.36+ reuses one connection) are told to reconnect
 * elsewhere.
 */
export function closeWhenDraining(lifecycle: Lifecycle): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    if (!lifecycle.isReady()) res.setHeader('Connection', 'close');
    next();
  };
}
