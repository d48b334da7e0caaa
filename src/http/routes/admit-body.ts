import type { NextFunction, Request, Response } from 'express';
import { closeIfLast } from '../../server/close-after-answer.js';
import { SHED_RETRY_AFTER_SECONDS } from '../inflight-bodies.js';
import { sendProblem } from '../problem.js';
import type { IngestDeps } from './ingest-body.js';

/**
 * Headers of a shed request: retry later. Its connection is closed too, the body never read, but
 * with closeIfLast (closesIfLast on the fast path), not a plain header: an alert pipelined behind
 * it was stored and its answer never written.
 */
export const SHED_HEADERS: Array<[string, string]> = [['Retry-After', String(SHED_RETRY_AFTER_SECONDS)]];

/** Sheds the request with a 503 before its body is read when the in-flight budget is spent. */
export function admitBody(deps: IngestDeps) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const problem = deps.inflight.admit(req, res, deps.bodyLimitBytes);
    if (problem === undefined) return next();
    for (const [name, value] of SHED_HEADERS) res.setHeader(name, value);
    closeIfLast(res);
    sendProblem(res, problem);
  };
}
