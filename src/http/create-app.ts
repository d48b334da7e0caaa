import type { RequestListener } from 'node:http';
import express from 'express';
import type { Logger } from 'pino';
import type { AlertSink } from '../alerts/alert-sink.js';
import type { AlertStore } from '../alerts/alert-store.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Lifecycle } from '../server/lifecycle.js';
import { createAppLines, type AppLines } from './app-lines.js';
import { answerError } from './answer-error.js';
import { answerOptions } from './answer-options.js';
import { closeWhenDraining } from './close-when-draining.js';
import { withFastIngest } from './fast-ingest.js';
import { createInflightBodies, type InflightLimits } from './inflight-bodies.js';
import { limitPipelining } from './limit-pipelining.js';
import { createMisdirectedPost } from './misdirected-post.js';
import { createOneShotSenders } from './one-shot-senders.js';
import type { ReadBudget } from './read-budget.js';
import { hostOriginGuard } from './host-origin-guard.js';
import { refuseUnrouted } from './refuse-unrouted.js';
import { createRequestIds, requestContext } from './request-context.js';
import { securityHeaders } from './security-headers.js';
import type { Surface } from './surface-methods.js';
import { createTurnTaker, DEFAULT_TURN_BUDGET_MS } from './turn-taker.js';
import { createAlertsRouter } from './routes/alerts.js';
import { createHealthRouter } from './routes/health.js';
import { createIngestRouter } from './routes/ingest.js';
import { createMetricsRouter, type MetricsBody } from './routes/metrics.js';
import { createOpenApiRouter } from './routes/openapi.js';
import { parseQueryText } from './routes/query-params.js';
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
  /** The ingest path secrets in force (redacted from refused paths). */
  ingestPathSecrets?: () => readonly string[];
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
  /**
   * Where what connections do is logged, counted (createAppLines): the receiver's, flushed with its
   * other lines at a listener's close; by default the app's own, flushed by its timers.
   */
  lines?: AppLines;
}

/**
 * Builds the request listener: Falco's plain `POST /alerts` on the node:http fast path, everything
 * else through the Express app, at most MAX_PIPELINED_REQUESTS of a connection at once. It never
 * listens and reads no globals.
 */
export function createApp(deps: AppDeps): RequestListener {
  const surface = deps.surface ?? 'all';
  const ingests = surface !== 'admin';
  const reads = surface !== 'ingest';
  const app = express();
  const lines = deps.lines ?? createAppLines(deps.logger);
  const ingest = {
    sink: deps.sink,
    metrics: deps.metrics,
    bodyLimitBytes: deps.bodyLimitBytes,
    // A turn of ingest jobs is one group commit of the sink's alert lines (and of its store's write).
    turns: createTurnTaker(DEFAULT_TURN_BUDGET_MS, deps.sink.lines, deps.sink.stored),
    inflight: createInflightBodies(deps.inflight, deps.metrics.registry, lines.shed),
    // One id source for Express and the fast path.
    requestIdOf: createRequestIds(),
    senders: createOneShotSenders(),
  };
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', parseQueryText);
  app.use(requestContext(deps.logger, deps.metrics, ingest.requestIdOf));
  app.use(securityHeaders());
  app.use(hostOriginGuard(deps.allowedHosts, deps.metrics.registry));
  app.use(closeWhenDraining(deps.lifecycle));
  answerOptions(app, surface);
  if (deps.ingestAuth && ingests) app.use(deps.ingestAuth);
  if (ingests) app.use(createIngestRouter(ingest));
  app.use(createHealthRouter(deps.lifecycle));
  if (deps.access) app.use(deps.access.metricsRouter);
  if (deps.access && reads) app.use(deps.access.router);
  app.use(createMetricsRouter(deps.metrics.registry.contentType, deps.renderMetrics, deps.readBudget));
  if (reads) {
    app.use(deps.stream.router);
    app.use(
      createAlertsRouter(deps.store, {
        maxBytes: deps.queryMaxBytes,
        budget: deps.readBudget,
        bodyLimitBytes: deps.bodyLimitBytes,
      }),
    );
    app.use(createOpenApiRouter());
    for (const router of deps.routers ?? []) app.use(router);
  }
  const misdirected = createMisdirectedPost(
    deps.metrics,
    ingests,
    deps.ingestPathSecrets,
    lines.unknownPaths,
  );
  refuseUnrouted(app, surface, misdirected);
  app.use(answerError);
  const fast = ingests && !deps.ingestAuth;
  const listener = withFastIngest(app, { ...ingest, logger: deps.logger, lifecycle: deps.lifecycle }, fast);
  return limitPipelining(
    listener,
    (socket) => {
      deps.metrics.recordPausedConnection();
      lines.pausedConnection(socket.remoteAddress);
    },
    (socket) => {
      deps.metrics.recordRefusedConnection('pipelined_requests');
      lines.refusedConnections.add('pipelined_requests', socket.remoteAddress ?? '');
    },
  );
}
