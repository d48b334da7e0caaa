import type { Request } from 'express';
import { createRefusalLines, type RefusalLines } from '../http/auth/refusal-lines.js';
import { callerAddress } from '../logging/caller-address.js';

/** What an audit line says of a trigger API call. */
export type Audit = {
  trigger: string;
  outcome: string;
  status: number;
  target?: Record<string, string>;
  runId?: string;
};

const EVENT = 'trigger_audit';
const MESSAGE = 'trigger API call';

/** Who made a call, as its audit line names them. */
const whoOf = (req: Request) => ({
  caller: callerAddress(req.socket.remoteAddress),
  user: req.authUser,
  via: req.access?.via,
});

/**
 * One line per call let in: who, which trigger, which target, what happened. Never the token.
 * (Calls refused for their credentials are counted per kind instead: auditRefusal.)
 */
export function audit(req: Request, fields: Audit): void {
  req.log.info({ event: EVENT, ...whoOf(req), ...fields }, MESSAGE);
}

/** The audit name of a call, from a fixed set (the path itself may be anything a caller sends). */
export function callName(req: Request): string {
  // Under router.use('/triggers') the path is relative to it; under a route it is the whole path.
  const lower = req.path.toLowerCase();
  const path = lower.startsWith('/triggers') ? lower.slice('/triggers'.length) : lower;
  const [, segment = '', action] = path.split('/');
  if (req.method === 'POST' && (segment === 'shell' || segment === 'event-generator')) return segment;
  if (req.method === 'POST' && action === 'cancel') return 'cancel';
  if (req.method === 'GET') return segment === '' ? 'list' : 'get';
  return 'other';
}

const REFUSED_OUTCOMES = { 401: 'unauthorized', 403: 'forbidden', 429: 'rate-limited' } as const;

/** What the audit line of a refused call names: who, which call, how it was refused. */
export type RefusedCallFields = ReturnType<typeof whoOf> & Pick<Audit, 'trigger' | 'outcome' | 'status'>;

/**
 * The audit lines of calls refused for their credentials, counted per kind (refusal-lines.ts): who
 * (address, proxy user), which call and how it was refused, the first at once and the repeats
 * summed with their `count`. With a line per refused call, a client without a token (never slowed:
 * not counted towards AUTH_FAILURE_LIMIT) chose how many audit lines were written, beside the
 * auth_refused line of the same request, which is counted so. Such a call changed nothing: the
 * audit of what was started, cancelled or read (every call let in) keeps a line per call.
 */
export const createRefusedCallAudits = (): RefusalLines<RefusedCallFields> =>
  createRefusalLines({ event: EVENT, level: 'info', message: MESSAGE });

/** Audits a call refused for its credentials, CSRF token or address's failures (its kind's line). */
export function auditRefusal(
  req: Request,
  status: keyof typeof REFUSED_OUTCOMES,
  audits: RefusalLines<RefusedCallFields>,
): void {
  audits.add(req, { ...whoOf(req), trigger: callName(req), outcome: REFUSED_OUTCOMES[status], status });
}
