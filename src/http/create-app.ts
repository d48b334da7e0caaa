import type { RequestListener } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { AlertSink } from '../alerts/alert-sink.js';
import type { AlertStore } from '../alerts/alert-store.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Lifecycle } from '../server/lifecycle.js';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import { withFastIngest } from './fast-ingest.js';
import { createInflightBodies, type InflightLimits } from './inflight-bodies.js';
import type { ReadBudget } from './read-budget.js';
import { hostOriginGuard } from './host-origin-guard.js';
import { buildProblem, sendProblem, type Problem } from './problem.js';
import { createRequestIds, requestContext } from './request-context.js';
import { securityHeaders } from './security-headers.js';
import { createTurnTaker, DEFAULT_TURN_BUDGET_MS } from './turn-taker.js';
import { createAlertsRouter } from './routes/alerts.js';
import { createHealthRouter } from './routes/health.js';
import { createIngestRouter, INGEST_PATHS } from './routes/ingest.js';
import { createMetricsRouter, type MetricsBody } from './routes/metrics.js';
import { createOpenApiRouter } from './routes/openapi.js';
import { refuseUnknownPath } from './routes/refuse-unknown-path.js';
import type { AlertStream } from './routes/stream.js';

/** Everything the HTTP layer needs; tests build their own. */
export interface AppDeps {
  logger: Logger;
  metrics: Metrics;
  store: AlertStore;
  sink: AlertSink;
  stream: AlertStream;
  lifecycle: Lifecycle;
  bodyLimitBytes: number;
  /** Most bytes of one `GET /alerts` answer (QUERY_MAX_BYTES). */
  queryMaxBytes: number;
  /** Bounds alert lists and exports held for readers (QUERY_MAX_INFLIGHT_BYTES), shared with stream replays. */
  readBudget: ReadBudget;
  /** Bounds on ingest bodies still arriving (INGEST_MAX_INFLIGHT_*). */
  inflight: InflightLimits;
  /** Host names read routes answer to (ALLOWED_HOSTS); IP literals always pass. */
  allowedHosts: readonly string[];
  /** Checks a client certificate and/or secret path before ingest (see ingest-auth.ts). */
  ingestAuth?: express.Router;
  /** INGEST_PATH_SECRET: kept out of the log line of a POST to a path that is not an ingest path. */
  ingestPathSecret?: string;
  /**
   * Renders /metrics (`shareMetricsRender`): one for every listener, so their scrapes share renders
   * (from the app's own registry, or in a cluster worker from the primary).
   */
  renderMetrics: MetricsBody;
  /** Read authentication, sign-in and the /metrics token (see auth/create-access.ts), before every read route. */
  access?: { router: express.Router; metricsRouter: express.Router };
  /**
   * Which routes this listener serves (ADMIN_PORT): `ingest` only ingest, health and metrics (what
   * Falco and Prometheus reach); `admin` everything else for people; `all` (default) both.
   */
  surface?: Surface;
  /** Feature routers (triggers, dashboard) mounted after the core routes. */
  routers?: express.Router[];
}

/** The routes a listener serves: see `AppDeps.surface`. */
export type Surface = 'all' | 'ingest' | 'admin';

// The core routes and the methods each serves (HEAD comes with GET), per surface.
const PROBES: Array<[string, string]> = [
  ['/metrics', 'GET, HEAD'],
  ['/healthz', 'GET, HEAD'],
  ['/readyz', 'GET, HEAD'],
];
const READS: Array<[string, string]> = [
  ['/alerts/stream', 'GET, HEAD'],
  ['/alerts/:id', 'GET, HEAD'],
];
const CORE_METHODS: Record<Surface, Array<[string, string]>> = {
  all: [['/alerts', 'GET, HEAD, POST'], ...READS, ...PROBES],
  // No 405 for GET /alerts here: on the ingest port reading does not exist (404).
  ingest: PROBES,
  admin: [['/alerts', 'GET, HEAD'], ...READS, ...PROBES],
};

// What OPTIONS answers per path: the core routes, and `/` (the dashboard's page and Falco's ingest URL).
function optionsFor(surface: Surface): Array<[string, string]> {
  const root: Record<Surface, string> = { all: 'GET, HEAD, POST', ingest: 'POST', admin: 'GET, HEAD' };
  const ingestOnly: Array<[string, string]> = surface === 'ingest' ? [['/alerts', 'POST']] : [];
  return [['/', root[surface]], ...ingestOnly, ...CORE_METHODS[surface]];
}

// Paths people POST to (triggers, sign-in): a miss there is not an alert sent to a wrong URL.
function isPeoplePath(path: string): boolean {
  return ['/triggers', '/ui'].some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/**
 * Builds the request listener: Falco's plain `POST /alerts` on the node:http fast path, everything
 * else through the Express app. It never listens and reads no globals.
 */
export function createApp(deps: AppDeps): RequestListener {
  const surface = deps.surface ?? 'all';
  const ingests = surface !== 'admin';
  const reads = surface !== 'ingest';
  const app = express();
  const ingest = {
    sink: deps.sink,
    metrics: deps.metrics,
    bodyLimitBytes: deps.bodyLimitBytes,
    // A turn of ingest jobs is one group commit of the sink's alert lines (and of its store's write).
    turns: createTurnTaker(DEFAULT_TURN_BUDGET_MS, deps.sink.lines, deps.sink.stored),
    inflight: createInflightBodies(deps.inflight, deps.metrics.registry),
    // One id source for Express and the fast path.
    requestIdOf: createRequestIds(),
  };
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(deps.logger, deps.metrics, ingest.requestIdOf));
  app.use(securityHeaders());
  app.use(hostOriginGuard(deps.allowedHosts, deps.metrics.registry));
  // While shutting down, keep-alive clients (Falco 0.36+ reuses one connection) are told to reconnect elsewhere.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    if (!deps.lifecycle.isReady()) res.setHeader('Connection', 'close');
    next();
  });
  // OPTIONS names every method a core path serves (each router alone would name only its own).
  for (const [path, allow] of optionsFor(surface)) {
    app.options(path, (_req: Request, res: Response) => {
      res.setHeader('Allow', allow);
      res.status(204).end();
    });
  }
  if (deps.ingestAuth && ingests) app.use(deps.ingestAuth);
  if (ingests) app.use(createIngestRouter(ingest));
  app.use(createHealthRouter(deps.lifecycle));
  if (deps.access) app.use(deps.access.metricsRouter);
  if (deps.access && reads) app.use(deps.access.router);
  app.use(createMetricsRouter(deps.metrics.registry.contentType, deps.renderMetrics));
  if (reads) {
    app.use(deps.stream.router);
    app.use(createAlertsRouter(deps.store, { maxBytes: deps.queryMaxBytes, budget: deps.readBudget }));
    app.use(createOpenApiRouter());
    for (const router of deps.routers ?? []) app.use(router);
  }

  // A POST that is most likely Falco's alert sent to a wrong URL, lost unseen unless counted: where
  // ingest is served, any path but a person's (triggers, sign-in); on ADMIN_PORT, the ingest paths.
  const misdirected = (req: Request) =>
    req.method === 'POST' && (ingests ? !isPeoplePath(req.path) : INGEST_PATHS.includes(req.path));
  // `problem`: the 405 of a path that serves other methods; else a 404.
  const refuseMisdirected = (req: Request, res: Response, problem?: Problem) =>
    refuseUnknownPath(req, res, deps.metrics, {
      pathSecret: deps.ingestPathSecret,
      problem: ingests
        ? problem
        : buildProblem(problem ? 'method-not-allowed' : 'not-found', {
            detail: `POST ${req.path}: this is ADMIN_PORT, which takes no alerts; Falco's http_output.url must use PORT.`,
          }),
    });
  // A core path with a method it does not serve: say which methods it does.
  for (const [path, allow] of CORE_METHODS[surface]) {
    app.all(path, (req: Request, res: Response) => {
      res.setHeader('Allow', allow);
      const problem = buildProblem('method-not-allowed', {
        detail: `${req.method} ${req.path}: use ${allow}`,
      });
      // A POST here is as likely an alert sent to a wrong URL (`/alerts/<a former path secret>`).
      if (misdirected(req)) return refuseMisdirected(req, res, problem);
      sendProblem(res, problem);
    });
  }
  app.use((req: Request, res: Response) => {
    if (misdirected(req)) return refuseMisdirected(req, res);
    sendProblem(res, buildProblem('not-found', { detail: `No route for ${req.method} ${req.path}` }));
  });
  // Last resort: log the error with its stack, answer without one.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: number } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Express's router says "Failed to decode param" for a path segment such as `%` or `%E0%A4%A`.
      const message = (error as { message?: unknown } | null)?.message;
      const why =
        typeof message === 'string' && message.startsWith('Failed to decode param')
          ? 'the path is not valid percent-encoding'
          : 'the request could not be read';
      sendProblem(
        res,
        buildProblem('invalid-request', {
          detail: `Invalid request: ${why}.`,
          errors: [{ pointer: '', detail: why }],
        }),
      );
      return;
    }
    if (error instanceof StoreUnavailableError) {
      sendProblem(res, buildProblem('service-unavailable', { detail: error.message }));
      return;
    }
    req.log.error({ err: error }, 'unhandled error');
    if (!res.headersSent) sendProblem(res, buildProblem('internal-error'));
    else res.end();
  });
  const fast = ingests && !deps.ingestAuth;
  return withFastIngest(app, { ...ingest, logger: deps.logger, lifecycle: deps.lifecycle }, fast);
}
