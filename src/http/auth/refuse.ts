import type { Request, Response } from 'express';
import { buildProblem, sendProblem } from '../problem.js';
import type { AuthMetrics, RouteGroup } from './auth-metrics.js';
import type { FailureLimiter } from './failure-limiter.js';
import { callerAddress } from '../../logging/caller-address.js';

/** What refusing a request needs: the counters and the per-address failure table. */
export interface RefuseDeps {
  metrics: AuthMetrics;
  limiter: FailureLimiter;
}

/** The address failures are counted under: the TCP peer (a proxy's, behind one). */
export const clientAddressOf = (req: Request): string => req.socket.remoteAddress ?? 'unknown';

/** Answers 429 with Retry-After when this address failed too often; true when it did. */
export function refuseIfLimited(req: Request, res: Response, group: RouteGroup, deps: RefuseDeps): boolean {
  const waitMs = deps.limiter.retryAfterMs(clientAddressOf(req));
  if (waitMs === 0) return false;
  deps.metrics.limited(group);
  res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
  const detail = 'Too many failed authentications from this address; retry later.';
  sendProblem(res, buildProblem('too-many-requests', { detail }));
  return true;
}

/** Why a request is refused, and whether what it sent counts towards its address's limit. */
export interface Refusal {
  group: RouteGroup;
  status: 401 | 403;
  reason: string;
  wrong: boolean;
}

/**
 * Answers 401 (or 403) and counts it. `wrong` credentials also count towards the address's limit;
 * a request that sent none does not (a browser opening the login page is not guessing). The log
 * line names the group and reason, never what was sent.
 */
export function refuse(req: Request, res: Response, refusal: Refusal, deps: RefuseDeps): void {
  recordRefusal(req, refusal, deps);
  if (refusal.status === 403) {
    sendProblem(res, buildProblem('forbidden', { detail: refusal.reason }));
    return;
  }
  res.setHeader('WWW-Authenticate', 'Bearer realm="falco-alert-receiver"');
  sendProblem(res, buildProblem('unauthorized', { detail: refusal.reason }));
}

/** What `refuse` does before it answers: the count, the address's failure and the log line. */
export function recordRefusal(req: Request, refusal: Omit<Refusal, 'status'>, deps: RefuseDeps): void {
  deps.metrics.failed(refusal.group);
  if (refusal.wrong) deps.limiter.recordFailure(clientAddressOf(req));
  req.log.warn(
    {
      event: 'auth_refused',
      routeGroup: refusal.group,
      reason: refusal.reason,
      caller: callerAddress(clientAddressOf(req)),
    },
    'request refused',
  );
}
