import express, { type NextFunction, type Request, type Response } from 'express';
import { bodyRefusal } from '../body-refusal.js';
import { buildProblem, sendProblem } from '../problem.js';
import { sendJson } from '../send-json.js';
import { SESSION_COOKIE, readCredentials, roleOfToken, type TokenSet } from './credentials.js';
import { refuse, refuseIfLimited, type RefuseDeps } from './refuse.js';
import type { Session, SessionSigner } from './session-cookie.js';
import { callerAddress } from '../../logging/caller-address.js';
import { readJsonBody } from '../read-json-body.js';

const SIGN_IN_LIMIT = '2kb';

export interface SessionRoutesDeps extends RefuseDeps {
  tokens: TokenSet;
  signer: SessionSigner;
  ttlMs: number;
  /** SESSION_COOKIE_SECURE. */
  secure: 'auto' | 'true' | 'false';
}

// HttpOnly: page scripts never see it; SameSite=Strict: no other site's page sends it; Secure on
// TLS here, or always when TLS ends at a proxy in front (SESSION_COOKIE_SECURE=true).
function cookieHeader(
  req: Request,
  mode: SessionRoutesDeps['secure'],
  value: string,
  maxAgeSeconds: number,
): string {
  const secure = mode === 'true' || (mode === 'auto' && req.secure) ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`;
}

function describeSession(session: Session) {
  return {
    role: session.role,
    via: 'session',
    expiresAt: new Date(session.expiresAt).toISOString(),
    csrfToken: session.csrfToken,
  };
}

/**
 * The dashboard's sign-in: `POST /ui/session {token}` sets the session cookie once, `GET
 * /ui/session` says who the caller is (and the CSRF token trigger calls must send), `DELETE
 * /ui/session` or `POST /ui/logout` clears it.
 */
export function createSessionRoutes(deps: SessionRoutesDeps): express.Router {
  const router = express.Router();
  const { signer, tokens } = deps;

  router.post('/ui/session', readJsonBody(SIGN_IN_LIMIT), (req: Request, res: Response) => {
    if (refuseIfLimited(req, res, 'session', deps)) return;
    const token: unknown = (req.body as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token === '') {
      const detail = 'token: send {"token": "<VIEWER_TOKEN or TRIGGER_TOKEN>"} as application/json';
      sendProblem(res, buildProblem('invalid-request', { detail, errors: [{ pointer: '/token', detail }] }));
      return;
    }
    const role = roleOfToken(token, tokens);
    if (!role) {
      refuse(
        req,
        res,
        { group: 'session', status: 401, reason: 'The token is not valid.', wrong: true },
        deps,
      );
      return;
    }
    const { value, session } = signer.issue(role, token);
    res.setHeader('Set-Cookie', cookieHeader(req, deps.secure, value, Math.floor(deps.ttlMs / 1000)));
    res.setHeader('Cache-Control', 'no-store');
    req.log.info(
      { event: 'session_started', role, caller: callerAddress(req.socket.remoteAddress) },
      'dashboard sign-in',
    );
    sendJson(res, 200, describeSession(session));
  });

  // A body the reader refuses: 413 or 415 as every other refusal, a 400 naming where the JSON goes wrong.
  router.use('/ui/session', (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const refusal = bodyRefusal(error, SIGN_IN_LIMIT);
    if (!refusal) return next(error);
    sendProblem(res, refusal);
  });
  router.get('/ui/session', (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    // It checks bearer tokens too, so it must not become an unlimited oracle for guessing them.
    if (refuseIfLimited(req, res, 'session', deps)) return;
    const credentials = readCredentials(req, tokens, signer, req.authUser);
    if (credentials.kind !== 'granted') {
      const reason = 'Not signed in: POST /ui/session {token}, or send Authorization: Bearer <token>.';
      refuse(req, res, { group: 'session', status: 401, reason, wrong: credentials.kind === 'wrong' }, deps);
      return;
    }
    const { role, via, session } = credentials;
    sendJson(res, 200, session ? describeSession(session) : { role, via, user: req.authUser });
  });

  // Stateless cookies cannot be revoked server-side: the browser forgets it, and it expires anyway.
  const signOut = (req: Request, res: Response) => {
    res.setHeader('Set-Cookie', cookieHeader(req, deps.secure, '', 0));
    res.setHeader('Cache-Control', 'no-store');
    res.status(204).end();
  };
  router.delete('/ui/session', signOut);
  router.post('/ui/logout', signOut);
  return router;
}
