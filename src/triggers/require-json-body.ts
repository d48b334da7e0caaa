import type { NextFunction, Request, Response } from 'express';
import { buildProblem, sendProblem, unsupportedMediaType } from '../http/problem.js';
import { carriesBody } from '../http/read-json-body.js';
import { refuseRest } from '../http/refuse-rest.js';
import { charsetProblem } from '../http/routes/ingest-media-type.js';
import { audit, callName } from './trigger-audit.js';

/**
 * Refuses (415, audited) a trigger call whose body is not UTF-8 JSON, leaving the body unread
 * (refuseRest). A body of another media type would go unread and the run start with "all
 * defaults"; one in another charset would be misread (and refused as "not a JSON object"). Chunked
 * bodies have no Content-Length, so presence is Transfer-Encoding or a non-zero length.
 */
export function requireJsonBody(req: Request, res: Response, next: NextFunction): void {
  if (!carriesBody(req)) return next();
  const detail = req.is('application/json')
    ? charsetProblem(req.headers['content-type'])
    : 'Send the body as application/json.';
  if (detail === undefined) return next();
  audit(req, { trigger: callName(req), outcome: 'invalid', status: 415 });
  // Its body is never read: closed while it arrives, as the body reader's refusals.
  refuseRest(req, res);
  sendProblem(res, unsupportedMediaType('Content-Type', detail));
}

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
