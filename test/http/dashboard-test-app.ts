import { Writable } from 'node:stream';
import type express from 'express';
import { createAlertFeed } from '../../src/alerts/alert-feed.js';
import { createAlertSink, type AlertSink } from '../../src/alerts/alert-sink.js';
import type { AlertStore } from '../../src/alerts/alert-store.js';
import { createMemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { createApp } from '../../src/http/create-app.js';
import { createDashboardRouter } from '../../src/http/dashboard/dashboard-router.js';
import { createAlertStream, type AlertStream } from '../../src/http/routes/stream.js';
import { createLogger } from '../../src/logging/create-logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createLifecycle } from '../../src/server/lifecycle.js';

export interface DashboardTestAppOptions {
  triggersEnabled?: boolean;
  /** The clock of both the sink (receipt times) and the summary. */
  now?: () => number;
  /** Routers mounted after the dashboard (the triggers stand-in of the browser test). */
  extraRouters?: express.Router[];
}

export interface DashboardTestApp {
  app: express.Express;
  store: AlertStore;
  sink: AlertSink;
  stream: AlertStream;
  /** Log lines written so far, as objects. */
  logLines: Record<string, unknown>[];
}

/** The real app (core routes + dashboard) with its own registry, store and a log sink read back as objects. */
export function buildDashboardTestApp(options: DashboardTestAppOptions = {}): DashboardTestApp {
  const logLines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const metrics = createMetrics({
    maxRules: 100,
    maxHostnames: 100,
    maxSources: 10,
    extraLabels: [],
    maxExtraLabelValues: 10,
    processMetrics: false,
  });
  const store = createMemoryAlertStore({ maxAlerts: 1000, maxBytes: 10 * 1024 * 1024 });
  const feed = createAlertFeed((err) => logger.error({ err }, 'alert listener failed'));
  const sink = createAlertSink({ store, feed, metrics, logger, now: options.now });
  const stream = createAlertStream({ feed, store, heartbeatMs: 15_000 });
  const dashboard = createDashboardRouter({
    store,
    triggersEnabled: options.triggersEnabled ?? false,
    now: options.now,
  });
  const app = createApp({
    logger,
    metrics,
    store,
    sink,
    stream,
    lifecycle: createLifecycle(),
    bodyLimitBytes: 1024 * 1024,
    routers: [dashboard, ...(options.extraRouters ?? [])],
  });
  return { app, store, sink, stream, logLines };
}
