import type { RequestListener } from 'node:http';
import type express from 'express';
import type { Logger } from 'pino';
import { createAlertFeed, type AlertFeed } from './alerts/alert-feed.js';
import { createAlertSink, type AlertSink } from './alerts/alert-sink.js';
import { createDedupSink } from './alerts/dedup-sink.js';
import type { AlertStore } from './alerts/alert-store.js';
import type { Config } from './config/load-config.js';
import { createAppLines } from './http/app-lines.js';
import { createApp } from './http/create-app.js';
import { createAccess } from './http/auth/create-access.js';
import { watchTokenFiles } from './http/auth/token-files.js';
import { isAuthorized } from './triggers/bearer-auth.js';
import { createDashboardRouter } from './http/dashboard/dashboard-router.js';
import { createIngestAuth, createIngestRefusalLines } from './http/ingest-auth.js';
import { createReadBudget } from './http/read-budget.js';
import { shareMetricsRender } from './http/routes/metrics.js';
import { createAlertStream, type AlertStream } from './http/routes/stream.js';
import { createClusterMetricsRenderer } from './metrics/cluster-metrics-renderer.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { streamOf } from './logging/create-logger.js';
import { createLineGroup, PIPE_ATOMIC_BYTES } from './logging/line-group.js';
import { createLifecycle, type Lifecycle } from './server/lifecycle.js';
import { createAlertStore } from './store/create-alert-store.js';
import type { ConnectionTimings } from './store/redis-connection.js';
import { createTriggers, type Triggers } from './triggers/create-triggers.js';
import { createRefusedCallAudits } from './triggers/trigger-audit.js';

/** The receiver's core parts, which feature routers (triggers, dashboard) are built from. */
export interface ReceiverCore {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  store: AlertStore;
  feed: AlertFeed;
  sink: AlertSink;
  stream: AlertStream;
  lifecycle: Lifecycle;
}

export interface ReceiverOptions {
  logger: Logger;
  /** Clock for receive times (tests pin it). */
  now?: () => number;
  /** Default process metrics; tests turn them off to keep output small. */
  processMetrics?: boolean;
  /** The environment child processes of the triggers may inherit from (allow-listed there). */
  parentEnv?: Record<string, string | undefined>;
  /**
   * Replaces the triggers API router and shows the dashboard's trigger panel; the dashboard's
   * browser test mounts a recording stand-in here.
   */
  triggerRouter?: express.Router;
  /** In a node:cluster worker, /metrics asks the primary for the sum over all workers. */
  clusterWorker?: boolean;
  /** Timeouts and backoff of the Redis store's links (tests shorten them). */
  storeTimings?: ConnectionTimings;
  /** How long a trigger run's slot and hold across replicas last unless renewed (tests shorten it). */
  triggerLeaseMs?: number;
}

/**
 * Wires metrics, store, feed, sink, stream, triggers and the dashboard into an Express app.
 * main.ts and tests share it.
 */
export function createReceiver(
  config: Config,
  options: ReceiverOptions,
): ReceiverCore & {
  app: RequestListener;
  adminApp?: RequestListener;
  triggers?: Triggers;
  /** Closes the store, giving its queued alerts up to `flushWithinMs` to reach a shared one. */
  closeStore(flushWithinMs?: number): Promise<void>;
  /** Resolves once a shared store has been tried (see AlertStoreParts.tried). */
  storeTried(): Promise<void>;
  /**
   * Writes the counted lines the app's refusals held back (`auth_refused`, `ingest_unauthorized`, refused calls' `trigger_audit`): main.ts hands it to
   * every listener (ServerOptions.flushLines), which calls it at its close or the process's exit.
   */
  flushLines(): void;
} {
  const { logger } = options;
  const metrics = createMetrics({ ...config.metrics, processMetrics: options.processMetrics });
  const feed = createAlertFeed((err) => logger.error({ err }, 'alert listener failed'));
  const { dedup, ingest } = config.hardening;
  const storeParts = createAlertStore({
    config: config.store,
    dedupWindowMs: dedup.windowMs,
    feed,
    registry: metrics.registry,
    logger,
    timings: options.storeTimings,
  });
  const { store } = storeParts;
  // With Redis, the stream reader publishes every replica's alerts (this one's too) to the feed;
  // this replica's own alerts also go to trigger verification at once (localFeed), so a run this
  // replica started is verified even while Redis cannot be reached.
  const localFeed = storeParts.feedsItself
    ? createAlertFeed((err) => logger.error({ err }, 'alert listener failed'))
    : undefined;
  const sinkFeed = localFeed ?? feed;
  // Cluster workers share the primary's stdout: each write stays small enough to be atomic on a pipe.
  const lines = createLineGroup(streamOf(logger), options.clusterWorker ? PIPE_ATOMIC_BYTES : undefined);
  const coreSink = createAlertSink({ store, feed: sinkFeed, metrics, logger, lines, now: options.now });
  // Falco 0.41+ re-sends an alert after a timeout; the optional window drops exact re-sends.
  const sink =
    dedup.windowMs > 0
      ? createDedupSink(coreSink, { ...dedup, registry: metrics.registry, logger })
      : coreSink;
  // Alert lists, exports and stream replays hold alerts for their readers within one budget.
  const readBudget = createReadBudget(config.hardening.readLimits, metrics.registry);
  const stream = createAlertStream({
    feed,
    store,
    ...config.stream,
    ...config.hardening.streamLimits,
    replayMaxBytes: config.hardening.queryMaxBytes,
    budget: readBudget,
    registry: metrics.registry,
  });
  const lifecycle = createLifecycle();
  const core: ReceiverCore = { config, logger, metrics, store, feed, sink, stream, lifecycle };
  // Mounted below: the real trigger API with triggers on, or the router given in its place (with
  // TRIGGERS_ENABLED unset the read guard skipped the trigger role and CSRF checks on that one).
  const triggersMounted = config.triggers.enabled || options.triggerRouter !== undefined;
  const triggerToken = config.triggers.enabled ? config.triggers.token : '';
  // Every secret a file holds, read again once the file changes (a rotated Kubernetes Secret).
  const secrets = watchTokenFiles(config.auth, {
    triggerToken,
    triggerTokenFile: config.triggers.enabled ? config.triggers.tokenFile : undefined,
    ingestPathSecrets: ingest.pathSecrets,
    ingestPathSecretFile: ingest.pathSecretFile,
    registry: metrics.registry,
    logger,
  });
  // Refused trigger calls are audited by the access layer and the trigger API alike: one table.
  const refusedCalls = createRefusedCallAudits();
  const access = createAccess({
    auth: config.auth,
    triggerToken,
    tokens: secrets,
    triggersMounted,
    registry: metrics.registry,
    refusedCalls,
    now: options.now,
  });
  const triggers =
    config.triggers.enabled && !options.triggerRouter
      ? createTriggers({
          config: config.triggers,
          logger,
          registry: metrics.registry,
          parentEnv: options.parentEnv ?? {},
          shared: storeParts.sharedRuns?.(config.triggers.maxRuns),
          alerts: store,
          leaseMs: options.triggerLeaseMs,
          readBudget,
          refusedCalls,
          // With read auth on, the access layer has checked every /triggers call (token, session, CSRF).
          authorize: access.readAuth
            ? (req) => req.access !== undefined
            : (req) => isAuthorized(req.headers.authorization, secrets.trigger()),
        })
      : undefined;
  // Verification listens to every accepted alert (with Redis, this replica's own ones twice: a
  // run's expectation is met by its first matching alert, so the second delivery changes nothing),
  // and to the shared feed's gaps (only other replicas' alerts can be in one).
  if (triggers) feed.subscribe(triggers.observeAlert, triggers.observeGap);
  if (triggers && localFeed) localFeed.subscribe(triggers.observeAlert);
  const triggerRouter = options.triggerRouter ?? triggers?.router;
  const dashboard = createDashboardRouter({
    store,
    storeMaxAlerts: config.store.maxAlerts,
    triggersEnabled: triggersMounted,
    readBudget,
    heartbeatMs: config.stream.heartbeatMs,
    now: options.now,
  });
  const routers = triggerRouter ? [triggerRouter, dashboard] : [dashboard];
  const ingestRefusals = createIngestRefusalLines();
  // One for both apps (ADMIN_PORT): flushed with the other lines below.
  const appLines = createAppLines(logger);
  const appDeps = {
    lines: appLines,
    logger,
    metrics,
    store,
    sink,
    stream,
    lifecycle,
    bodyLimitBytes: config.bodyLimitBytes,
    queryMaxBytes: config.hardening.queryMaxBytes,
    readBudget,
    inflight: config.hardening.inflight,
    allowedHosts: config.hardening.allowedHosts,
    access,
    ingestAuth: createIngestAuth({
      requireClientCert: ingest.requireClientCert,
      pathSecrets: ingest.pathSecrets === undefined ? undefined : secrets.ingestPath,
      registry: metrics.registry,
      lines: ingestRefusals,
    }),
    ingestPathSecrets: secrets.ingestPath,
    // One renderer for both listeners of ADMIN_PORT: their scrapes share renders.
    renderMetrics: shareMetricsRender(
      options.clusterWorker
        ? createClusterMetricsRenderer(metrics.registry)
        : () => metrics.registry.metrics(),
    ),
    routers,
  };
  // ADMIN_PORT: the port Falco reaches keeps ingest, health and metrics; people use the other one.
  const split = config.auth.adminPort !== undefined;
  const app = createApp({ ...appDeps, surface: split ? 'ingest' : 'all' });
  const adminApp = split ? createApp({ ...appDeps, surface: 'admin' }) : undefined;
  return {
    ...core,
    app,
    adminApp,
    triggers,
    closeStore: (flushWithinMs) => {
      secrets.stop();
      return storeParts.close(flushWithinMs);
    },
    storeTried: () => storeParts.tried(),
    flushLines: () => {
      access.flushLines();
      ingestRefusals.flush();
      refusedCalls.flush();
      appLines.flush();
    },
  };
}
