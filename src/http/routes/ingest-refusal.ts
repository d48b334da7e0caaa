import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { RejectReason } from '../../alerts/parse-falco-alert.js';
import type { Metrics } from '../../metrics/metrics.js';
import { sendProblem, type Problem } from '../problem.js';
import { callerAddress } from '../../logging/caller-address.js';

/**
 * The request's logger with the caller's address: a refused body may have no readable hostname,
 * and the address is what names the Falco sensor to fix. (The fast path binds it the same way.)
 */
export function ingestLog(req: Request): Logger {
  return req.log.child({ caller: callerAddress(req.socket.remoteAddress) });
}

/** What a refusal's log line may carry beside its reason: the refused text alert itself. */
export interface RefusalFields {
  text?: string;
}

/** Counts and logs a refused ingest request; returns the problem to answer with. */
export function refuse(
  log: Logger,
  metrics: Metrics,
  reason: RejectReason,
  problem: Problem,
  fields: RefusalFields = {},
): Problem {
  metrics.recordRejected(reason);
  log.warn(
    { event: 'alert_rejected', reason, status: problem.status, errors: problem.errors, ...fields },
    'alert rejected',
  );
  return problem;
}

/** Refuses an ingest request that Express serves: counted, logged and answered with the problem. */
export function reject(
  req: Request,
  res: Response,
  metrics: Metrics,
  reason: RejectReason,
  problem: Problem,
  fields?: RefusalFields,
): void {
  sendProblem(res, refuse(ingestLog(req), metrics, reason, problem, fields));
}
