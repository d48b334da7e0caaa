import type { Request, Response } from 'express';
import { buildProblem, sendProblem } from '../problem.js';
import type { AuthMetrics, RouteGroup } from './auth-metrics.js';
import type { FailureLimiter } from './failure-limiter.js';
import { createRefusalLines, type RefusalLines } from './refusal-lines.js';
import { callerAddress } from '../../logging/caller-address.js';

/** What an `auth_refused` line names: never what the client sent. */
export interface AuthRefusalFields {
  routeGroup: RouteGroup;
  reason: string;
  /** The client's address as log lines name it (callerAddress). */
  caller: string;
  /** The user a trusted proxy vouches for, if any. */
  user: string | undefined;
}

/** The `auth_refused` lines, counted per kind (refusal-lines.ts). */
export const createAuthRefusalLines = (): RefusalLines<AuthRefusalFields> =>
  createRefusalLines({ event: 'auth_refused', level: 'warn', message: 'request refused' });

/** What refusing a request needs: the counters, the per-address failure table and the log lines. */
export interface RefuseDeps {
  metrics: AuthMetrics;
  limiter: FailureLimiter;
  lines: RefusalLines<AuthRefusalFields>;
}

/** The client's address: the TCP peer (a proxy's, behind one). */
export const clientAddressOf = (req: Request): string => req.socket.remoteAddress ?? 'unknown';

/**
 * Who failures are counted under: the address, or a user a trusted proxy vouches for at that
 * address. Every user of an authenticating proxy shares its address: counted by it, one user's
 * wrong tokens answered 429 to all of them. (A user name holds no space: no address is one.)
 */
export const failureKeyOf = (req: Request): string =>
  req.authUser === undefined ? clientAddressOf(req) : `${clientAddressOf(req)} user ${req.authUser}`;

/** Answers 429 with Retry-After when this client failed too often; true when it did. */
export function refuseIfLimited(req: Request, res: Response, group: RouteGroup, deps: RefuseDeps): boolean {
  const waitMs = deps.limiter.retryAfterMs(failureKeyOf(req));
  if (waitMs === 0) return false;
  deps.metrics.limited(group);
  res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
  const detail = 'Too many failed authentications from this client; retry later.';
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
 * lines name the group and reason, never what was sent.
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

/**
 * What `refuse` does before it answers: the count, the client's failure and its kind's log line (the
 * first at once, repeats summed: refusal-lines.ts).
 */
export function recordRefusal(req: Request, refusal: Omit<Refusal, 'status'>, deps: RefuseDeps): void {
  deps.metrics.failed(refusal.group);
  if (refusal.wrong) deps.limiter.recordFailure(failureKeyOf(req));
  deps.lines.add(req, {
    routeGroup: refusal.group,
    reason: refusal.reason,
    caller: callerAddress(clientAddressOf(req)),
    // Failures of a user a trusted proxy names are counted under that user (failureKeyOf).
    user: req.authUser,
  });
}
