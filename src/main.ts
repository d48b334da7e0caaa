import { createAlertFeed } from './alerts/alert-feed.js';
import { createAlertSink } from './alerts/alert-sink.js';
import { createMemoryAlertStore } from './alerts/memory-alert-store.js';
import { loadConfig } from './config/load-config.js';
import { createApp } from './http/create-app.js';
import { createAlertStream } from './http/routes/stream.js';
import { createLogger } from './logging/create-logger.js';
import { createMetrics } from './metrics/metrics.js';
import { shutdownGracefully } from './server/graceful-shutdown.js';
import { createLifecycle } from './server/lifecycle.js';
import { createTriggers } from './triggers/create-triggers.js';
import { boundPort, startServer } from './server/start-server.js';

// Composition root: loadConfig → logger → metrics → store → app → listen → shutdown.
async function main(): Promise<void> {
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write(`Invalid configuration:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  const { config } = loaded;
  const logger = createLogger({ level: config.logLevel });
  const metrics = createMetrics(config.metrics);
  const store = createMemoryAlertStore(config.store);
  const feed = createAlertFeed((err) => logger.error({ err }, 'alert listener failed'));
  const sink = createAlertSink({ store, feed, metrics, logger });
  const stream = createAlertStream({ feed, store, heartbeatMs: config.stream.heartbeatMs });
  const lifecycle = createLifecycle();
  const triggers = config.triggers.enabled
    ? createTriggers({ config: config.triggers, logger, registry: metrics.registry, parentEnv: process.env })
    : undefined;
  if (triggers) feed.subscribe(triggers.observeAlert);
  const app = createApp({
    logger,
    metrics,
    store,
    sink,
    stream,
    lifecycle,
    bodyLimitBytes: config.bodyLimitBytes,
    routers: triggers ? [triggers.router] : [],
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
      beforeClose: [() => stream.closeAll(), () => triggers?.stop()],
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
