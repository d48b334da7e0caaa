import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { AuthConfig } from '../../config/auth-env.js';
import { auditRefusal, type RefusedCallFields } from '../../triggers/trigger-audit.js';
import { setDashboardHeaders } from '../dashboard/security-headers.js';
import { DEFAULT_ASSETS_DIR } from '../dashboard/static-assets.js';
import { createAuthMetrics } from './auth-metrics.js';
import { createFailureLimiter } from './failure-limiter.js';
import { ourBearerOf } from './proxy-bearer.js';
import { readProxyUser } from './proxy-user.js';
import type { RefusalLines } from './refusal-lines.js';
import { readCredentials, type TokenSet } from './credentials.js';
import { createReadGuard } from './read-guard.js';
import { createRevokedAnswers } from './revoked-answers.js';
import { createAuthRefusalLines, recordRefusal, refuse, refuseIfLimited, type RefuseDeps } from './refuse.js';
import { findSecret } from './same-secret.js';
import { createSessionSigner } from './session-cookie.js';
import { createSessionRoutes } from './session-routes.js';
import type { CurrentTokens } from './token-files.js';

export interface AccessOptions {
  auth: AuthConfig;
  /** TRIGGER_TOKEN ('' when triggers are off): it reads too. */
  triggerToken: string;
  /** The tokens in force (token files are read again once changed: token-files.ts). */
  tokens: CurrentTokens;
  /** Whether a trigger API is mounted: starting a trigger then needs the trigger role (and CSRF token). */
  triggersMounted: boolean;
  registry: Registry;
  /** Where refused trigger calls are audited (createRefusedCallAudits), shared with the trigger API. */
  refusedCalls: RefusalLines<RefusedCallFields>;
  assetsDir?: string;
  now?: () => number;
}

/** The access layer, mounted before every route that is not ingest or health. */
export interface Access {
  /** Sign-in routes and the read guard (listeners that serve reads). */
  router: express.Router;
  /** The trusted proxy's user and the /metrics token (every listener). */
  metricsRouter: express.Router;
  /** True when reading needs credentials (VIEWER_TOKEN set): the trigger API then trusts the guard. */
  readAuth: boolean;
  /**
   * Writes the `auth_refused` lines a period held back (refusal-lines.ts); the composition root
   * calls it when a listener closes or the process exits.
   */
  flushLines: () => void;
}

function guardMetrics(tokens: () => readonly string[], deps: RefuseDeps) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (refuseIfLimited(req, res, 'metrics', deps)) return;
    const ours = tokens();
    const bearer = ourBearerOf(req.headers.authorization, req.authUser, ours);
    if (bearer !== undefined && findSecret(bearer, ours) !== undefined) return next();
    const reason = 'Send Authorization: Bearer <METRICS_TOKEN>.';
    refuse(req, res, { group: 'metrics', status: 401, reason, wrong: bearer !== undefined }, deps);
  };
}

// Counts, logs and limits a call without the trigger token; the trigger API itself then answers
// it 401 and writes its audit line. A call refused 429 never reaches it, so is audited here.
function limitTriggerTokens(
  token: () => string,
  deps: RefuseDeps,
  refusedCalls: RefusalLines<RefusedCallFields>,
) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (refuseIfLimited(req, res, 'triggers', deps)) return auditRefusal(req, 429, refusedCalls);
    const ours = [token()];
    const bearer = ourBearerOf(req.headers.authorization, req.authUser, ours);
    if (bearer === undefined || findSecret(bearer, ours) === undefined) {
      const reason = 'Send Authorization: Bearer <TRIGGER_TOKEN>.';
      recordRefusal(req, { group: 'triggers', reason, wrong: bearer !== undefined }, deps);
    }
    next();
  };
}

/**
 * Builds what AuthConfig turns on: the proxy user, the /metrics token, and read authentication
 * with its sign-in routes and page. With none of them, only `GET /ui/session` answers (reading is open).
 */
export function createAccess(options: AccessOptions): Access {
  const { auth } = options;
  const readAuth = auth.viewerTokens.length > 0;
  const router = express.Router();
  const metricsRouter = express.Router();
  // The page asks who it is; without read auth the answer is that nobody needs to sign in.
  if (!readAuth) router.get('/ui/session', (_req, res) => void res.json({ readAuth: false }));
  const triggers = options.triggerToken !== '';
  if (!readAuth && !triggers && auth.metricsTokens.length === 0 && !auth.proxy)
    return { router, metricsRouter, readAuth, flushLines: () => {} };
  const deps: RefuseDeps = {
    metrics: createAuthMetrics(options.registry),
    limiter: createFailureLimiter({ ...auth.failures, now: options.now }),
    lines: createAuthRefusalLines(),
  };
  const flushLines = deps.lines.flush;
  const current = options.tokens;
  const { proxy } = auth;
  if (proxy) {
    metricsRouter.use((req: Request, _res: Response, next: NextFunction) => {
      req.authUser = readProxyUser(req, proxy);
      next();
    });
  }
  if (auth.metricsTokens.length > 0) metricsRouter.get('/metrics', guardMetrics(current.metrics, deps));
  if (!readAuth) {
    // Reading is open, the trigger API is not: its wrong tokens are counted, logged and limited
    // per address as every other credential's (AUTH_FAILURE_LIMIT). With read auth the read guard does it.
    if (triggers) router.use('/triggers', limitTriggerTokens(current.trigger, deps, options.refusedCalls));
    return { router, metricsRouter, readAuth, flushLines };
  }

  // Read at each request: a token file's change (watchTokenFiles) answers from the next one on.
  const tokens: TokenSet = {
    get viewerTokens() {
      return current.viewer();
    },
    get triggerToken() {
      return current.trigger();
    },
  };
  const signer = createSessionSigner({
    secrets: current.session,
    ttlMs: auth.sessionTtlMs,
    now: options.now,
  });
  const loginPage = readFileSync(path.join(options.assetsDir ?? DEFAULT_ASSETS_DIR, 'login.html'));
  const sendLoginPage = (res: Response) => {
    setDashboardHeaders(res.req, res, () => undefined);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('WWW-Authenticate', 'Bearer realm="falco-alert-receiver"');
    res.status(401).type('text/html; charset=utf-8').send(loginPage);
  };
  router.use(
    createSessionRoutes({
      ...deps,
      tokens,
      signer,
      ttlMs: auth.sessionTtlMs,
      secure: auth.sessionCookieSecure,
    }),
  );
  router.use(
    createReadGuard({
      ...deps,
      tokens,
      signer,
      triggers: options.triggersMounted,
      refusedCalls: options.refusedCalls,
      sendLoginPage,
    }),
  );
  // A live stream let in with a token taken out since (or a session it opened) ends at the change.
  const revoked = createRevokedAnswers(
    (req) => readCredentials(req, tokens, signer, req.authUser).kind === 'granted',
  );
  router.use(revoked.middleware);
  current.onReload(revoked.recheck);
  return { router, metricsRouter, readAuth, flushLines };
}
