import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { createAlertIds } from '../alerts/alert-ids.js';
import type { Metrics } from '../metrics/metrics.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request id: the caller's X-Request-Id when it is safe, else a new one (requestIdOf). */
    id: string;
    /** A child logger bound to this request's id. */
    log: Logger;
  }
}

// The matched route pattern, never the raw URL: ids in paths would explode label cardinality.
function routeLabel(req: Request): string {
  const path: unknown = req.route?.path;
  if (Array.isArray(path)) return req.baseUrl + (path.includes(req.path) ? req.path : String(path[0]));
  return typeof path === 'string' ? req.baseUrl + path : 'unmatched';
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Gives each request its id: the caller's X-Request-Id when it is safe to echo and log, else a new
 * UUID in the alert ids' layout (alert-ids.ts) with a random prefix of its own and a counter, so no
 * random draw per request (Falco sends no X-Request-Id).
 */
export type RequestIds = (req: IncomingMessage) => string;

export function createRequestIds(): RequestIds {
  const ids = createAlertIds();
  return (req) => {
    const incoming = req.headers['x-request-id'];
    return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : ids.next();
  };
}

/** Times a request into the request histogram when its response closes. */
export function timeRequest(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: Metrics,
  route: () => string,
): void {
  const started = process.hrtime.bigint();
  // 'close' also fires for a stream the client hung up on, where 'finish' never does.
  res.once('close', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.observeRequest(req.method ?? '', route(), res.statusCode, seconds);
  });
}

/** Gives each request an id and child logger, and times it into the request histogram. */
export function requestContext(logger: Logger, metrics: Metrics, requestIdOf: RequestIds) {
  return (req: Request, res: Response, next: NextFunction): void => {
    timeRequest(req, res, metrics, () => routeLabel(req));
    req.id = requestIdOf(req);
    req.log = logger.child({ reqId: req.id });
    res.setHeader('X-Request-Id', req.id);
    next();
  };
}
