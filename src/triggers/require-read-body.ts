import type { Request, Response, NextFunction } from 'express';
import { buildProblem, sendProblem } from '../http/problem.js';
import { carriesBody } from '../http/read-json-body.js';
import { audit, callName } from './trigger-audit.js';

/**
 * Refuses (400, audited) a trigger call whose declared body was never read. None is read once the
 * client has half-closed its side after sending (the socket is no longer readable: readJsonBody),
 * and the run then started with every default, a shell in `default` for a body that asked for a
 * bogus backend (found by review).
 */
export function requireReadBody(req: Request, res: Response, next: NextFunction): void {
  if (req.body !== undefined || !carriesBody(req)) return next();
  audit(req, { trigger: callName(req), outcome: 'invalid', status: 400 });
  const detail =
    'The body was not read: the connection closed its sending side before it. Send it and wait for the answer.';
  sendProblem(res, buildProblem('invalid-request', { detail }));
}
