import type { NextFunction, Request, Response } from 'express';
import { buildProblem, sendProblem } from '../http/problem.js';
import { audit, callName } from './trigger-audit.js';

// A request body is present when it is chunked or declares a length above zero (RFC 9112 6.3).
function carriesBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Refuses (415, audited) a trigger call whose body is not JSON. A body of another media type would
 * go unread and the run start with "all defaults". Chunked bodies have no Content-Length, so
 * presence is Transfer-Encoding or a non-zero length.
 */
export function requireJsonBody(req: Request, res: Response, next: NextFunction): void {
  if (!carriesBody(req) || req.is('application/json')) return next();
  audit(req, { trigger: callName(req), outcome: 'invalid', status: 415 });
  sendProblem(res, buildProblem('unsupported-media-type', { detail: 'Send the body as application/json.' }));
}
