import type { NextFunction, Request, Response } from 'express';
import { SHED_RETRY_AFTER_SECONDS } from '../inflight-bodies.js';
import { sendProblem } from '../problem.js';
import type { IngestDeps } from './ingest-body.js';

/** Headers of a shed request: retry later, and on a new connection (the body was never read). */
export const SHED_HEADERS: Array<[string, string]> = [
  ['Retry-After', String(SHED_RETRY_AFTER_SECONDS)],
  ['Connection', 'close'],
];

/** Sheds the request with a 503 before its body is read when the in-flight budget is spent. */
export function admitBody(deps: IngestDeps) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const problem = deps.inflight.admit(req, res, deps.bodyLimitBytes);
    if (problem === undefined) return next();
    for (const [name, value] of SHED_HEADERS) res.setHeader(name, value);
    sendProblem(res, problem);
  };
}
