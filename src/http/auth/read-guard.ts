import type { NextFunction, Request, Response } from 'express';
import { auditRefusal, type RefusedCallFields } from '../../triggers/trigger-audit.js';
import type { RefusalLines } from './refusal-lines.js';
import { routeGroupOf, type RouteGroup } from './auth-metrics.js';
import { readCredentials, type Credentials, type TokenSet } from './credentials.js';
import { refuse, refuseIfLimited, type RefuseDeps, type Refusal } from './refuse.js';
import { sameSecret } from './same-secret.js';
import type { SessionSigner } from './session-cookie.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** How this request was let in, once the read guard ran. */
    access?: Extract<Credentials, { kind: 'granted' }>;
    /** The user a trusted authenticating proxy vouches for (AUTH_PROXY_USER_HEADER). */
    authUser?: string;
  }
}

export interface ReadGuardDeps extends RefuseDeps {
  tokens: TokenSet;
  signer: SessionSigner;
  /** True when a trigger API is mounted (TRIGGERS_ENABLED, or a router in its place): else none starts. */
  triggers: boolean;
  /** Where a refused trigger call is audited, counted per kind (createRefusedCallAudits). */
  refusedCalls: RefusalLines<RefusedCallFields>;
  /** Serves the sign-in page (with status 401) to a browser that opens `/` without credentials. */
  sendLoginPage: (res: Response) => void;
}

// Static page code, the API description and the probes: no alert data, and the sign-in page needs
// its script and style.
const PUBLIC_READS = /^\/(healthz|readyz|metrics|openapi\.json|ui\/dashboard\.css|ui\/js\/[a-z-]+\.js)$/;

const isRead = (req: Request) => req.method === 'GET' || req.method === 'HEAD';

/**
 * Deny by default: every GET/HEAD except PUBLIC_READS, and every call of the trigger API, needs a
 * viewer or trigger token (bearer), a session cookie, or a trusted proxy's user. Starting or
 * cancelling a run needs the trigger role, and from a session also the CSRF token in
 * X-CSRF-Token. A trigger call refused here is audited as one the trigger API refuses itself.
 */
export function createReadGuard(deps: ReadGuardDeps) {
  const { tokens, signer } = deps;
  // The trigger API never sees these calls: they had an auth_refused line and no audit line.
  const auditIfTrigger = (req: Request, group: RouteGroup, status: 401 | 403 | 429) => {
    if (deps.triggers && group === 'triggers') auditRefusal(req, status, deps.refusedCalls);
  };
  const refuseCall = (req: Request, res: Response, refusal: Refusal) => {
    refuse(req, res, refusal, deps);
    auditIfTrigger(req, refusal.group, refusal.status);
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    const group = routeGroupOf(req.path);
    if (isRead(req) ? PUBLIC_READS.test(req.path) : group !== 'triggers') return next();
    if (refuseIfLimited(req, res, group, deps)) return auditIfTrigger(req, group, 429);
    const credentials = readCredentials(req, tokens, signer, req.authUser);
    if (credentials.kind !== 'granted') {
      const wrong = credentials.kind === 'wrong';
      if (!wrong && req.path === '/' && req.accepts(['json', 'html']) === 'html') {
        deps.metrics.failed(group);
        deps.sendLoginPage(res);
        return;
      }
      const reason = wrong
        ? 'The bearer token is not valid.'
        : 'Send Authorization: Bearer <VIEWER_TOKEN>, or sign in on the dashboard.';
      return refuseCall(req, res, { group, status: 401, reason, wrong });
    }
    // With triggers off no token starts one: a reader gets the 404 of any unknown route, where it
    // got a 403 asking for TRIGGER_TOKEN.
    const starts = !isRead(req) && deps.triggers;
    if (starts && credentials.role !== 'trigger') {
      const reason = 'Starting or cancelling a trigger run needs TRIGGER_TOKEN; these credentials only read.';
      return refuseCall(req, res, { group, status: 403, reason, wrong: false });
    }
    // A cookie is sent by the browser on its own; the CSRF token proves the page itself asked.
    if (starts && credentials.session) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameSecret(sent, credentials.session.csrfToken)) {
        const reason = 'Missing or wrong X-CSRF-Token (GET /ui/session returns it).';
        return refuseCall(req, res, { group, status: 403, reason, wrong: false });
      }
    }
    req.access = credentials;
    next();
  };
}
