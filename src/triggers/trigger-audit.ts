import type { Request } from 'express';
import { callerAddress } from '../logging/caller-address.js';

/** What an audit line says of a trigger API call. */
export type Audit = {
  trigger: string;
  outcome: string;
  status: number;
  target?: Record<string, string>;
  runId?: string;
};

/** One line per call: who, which trigger, which target, what happened. Never the token. */
export function audit(req: Request, fields: Audit): void {
  const who = { caller: callerAddress(req.socket.remoteAddress), user: req.authUser, via: req.access?.via };
  req.log.info({ event: 'trigger_audit', ...who, ...fields }, 'trigger API call');
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

/** The audit line of a call refused for its credentials, CSRF token or address's failures. */
export function auditRefusal(req: Request, status: keyof typeof REFUSED_OUTCOMES): void {
  audit(req, { trigger: callName(req), outcome: REFUSED_OUTCOMES[status], status });
}
