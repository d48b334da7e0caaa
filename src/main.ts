import { createAlertFeed } from './alerts/alert-feed.js';
import { createAlertSink } from './alerts/alert-sink.js';
import { createDedupSink } from './alerts/dedup-sink.js';
import { createMemoryAlertStore } from './alerts/memory-alert-store.js';
import { loadConfig } from './config/load-config.js';
import { createApp } from './http/create-app.js';
import { createIngestAuth } from './http/ingest-auth.js';
import { createAlertStream } from './http/routes/stream.js';
import { createLogger } from './logging/create-logger.js';
import { createMetrics } from './metrics/metrics.js';
import { shutdownGracefully } from './server/graceful-shutdown.js';
import { createLifecycle } from './server/lifecycle.js';
import { boundPort, startServer } from './server/start-server.js';
import { startTlsServer } from './server/start-tls-server.js';

// Composition root: loadConfig → logger → metrics → store → app → listen → shutdown.
async function main(): Promise<void> {
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write(`Invalid configuration:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  const { config } = loaded;
  const { hardening } = config;
  const logger = createLogger({ level: config.logLevel });
  const metrics = createMetrics(config.metrics);
  const store = createMemoryAlertStore(config.store);
  const feed = createAlertFeed((err) => logger.error({ err }, 'alert listener failed'));
  const coreSink = createAlertSink({ store, feed, metrics, logger });
  const sink =
    hardening.dedup.windowMs > 0
      ? createDedupSink(coreSink, { ...hardening.dedup, registry: metrics.registry, logger })
      : coreSink;
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
    ingestAuth: createIngestAuth({ ...hardening.ingest, registry: metrics.registry }),
  });

  const limits = hardening.server;
  const server = await startServer(app, { host: config.host, port: config.port, limits });
  const tlsServer = hardening.tls
    ? await startTlsServer(app, { host: config.host, tls: hardening.tls, limits })
    : undefined;
  logger.info(
    { event: 'listening', host: config.host, port: boundPort(server) },
    'falco-alert-receiver listening',
  );
  if (tlsServer) {
    const mtls = hardening.tls?.clientCaFile !== undefined;
    logger.info(
      { event: 'listening_tls', host: config.host, port: boundPort(tlsServer), mtls },
      'TLS listener up',
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'signal', signal }, 'signal received');
    void shutdownGracefully({
      server,
      moreServers: tlsServer ? [tlsServer] : [],
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
