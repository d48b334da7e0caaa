import cluster from 'node:cluster';
import { createAlertFeed } from './alerts/alert-feed.js';
import { createAlertSink } from './alerts/alert-sink.js';
import { createMemoryAlertStore } from './alerts/memory-alert-store.js';
import { loadConfig } from './config/load-config.js';
import { createApp } from './http/create-app.js';
import { createAlertStream } from './http/routes/stream.js';
import { createLogger } from './logging/create-logger.js';
import { createClusterMetricsRenderer } from './metrics/cluster-metrics.js';
import { createMetrics } from './metrics/metrics.js';
import { runClusterPrimary } from './server/cluster-primary.js';
import { shutdownGracefully } from './server/graceful-shutdown.js';
import { createLifecycle } from './server/lifecycle.js';
import { boundPort, startServer } from './server/start-server.js';

// Composition root: loadConfig → logger → metrics → store → app → listen → shutdown.
async function main(): Promise<void> {
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write(`Invalid configuration:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  const { config } = loaded;
  const rootLogger = createLogger({ level: config.logLevel });
  // WORKERS > 1: this process only forks, supervises and aggregates metrics; workers serve HTTP.
  const clustered = config.cluster.workers > 1;
  if (clustered && cluster.isPrimary)
    return runClusterPrimary({ workers: config.cluster.workers, logger: rootLogger });
  const logger = clustered ? rootLogger.child({ worker: cluster.worker?.id }) : rootLogger;
  const metrics = createMetrics(config.metrics);
  const renderMetrics = clustered ? createClusterMetricsRenderer(metrics.registry) : undefined;
  const store = createMemoryAlertStore(config.store);
  const feed = createAlertFeed((err) => logger.error({ err }, 'alert listener failed'));
  const sink = createAlertSink({ store, feed, metrics, logger });
  const stream = createAlertStream({ feed, store, heartbeatMs: config.stream.heartbeatMs });
  const lifecycle = createLifecycle();
  const app = createApp({
    logger,
    metrics,
    store,
    sink,
    stream,
    lifecycle,
    bodyLimitBytes: config.bodyLimitBytes,
    renderMetrics,
  });

  const server = await startServer(app, { host: config.host, port: config.port });
  logger.info(
    { event: 'listening', host: config.host, port: boundPort(server) },
    'falco-alert-receiver listening',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'signal', signal }, 'signal received');
    void shutdownGracefully({
      server,
      lifecycle,
      logger,
      delayMs: config.shutdown.delayMs,
      timeoutMs: config.shutdown.timeoutMs,
      beforeClose: [() => stream.closeAll()],
    }).then((drained) => process.exit(drained ? 0 : 1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `falco-alert-receiver failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
