import { loadConfig } from './config/load-config.js';
import { createReceiver } from './create-receiver.js';
import { createLogger } from './logging/create-logger.js';
import { trackConnections } from './server/connection-tracker.js';
import { shutdownGracefully } from './server/graceful-shutdown.js';
import { boundPort, startServer } from './server/start-server.js';
import { startTlsServer } from './server/start-tls-server.js';

// Composition root: loadConfig → logger → receiver (metrics, store, app) → listen → shutdown.
async function main(): Promise<void> {
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write(`Invalid configuration:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  const { config } = loaded;
  const logger = createLogger({ level: config.logLevel });
  // Trigger child processes get an allow-listed subset of this environment (see triggers/).
  const receiver = createReceiver(config, { logger, parentEnv: process.env });

  const { hardening } = config;
  const server = await startServer(receiver.app, {
    host: config.host,
    port: config.port,
    limits: hardening.server,
  });
  const listeners = [{ server, connections: trackConnections(server) }];
  logger.info(
    { event: 'listening', host: config.host, port: boundPort(server) },
    'falco-alert-receiver listening',
  );
  if (hardening.tls) {
    const tlsServer = await startTlsServer(receiver.app, {
      host: config.host,
      tls: hardening.tls,
      limits: hardening.server,
    });
    listeners.push({ server: tlsServer, connections: trackConnections(tlsServer) });
    const mtls = hardening.tls.clientCaFile !== undefined;
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
      listeners,
      lifecycle: receiver.lifecycle,
      logger,
      delayMs: config.shutdown.delayMs,
      timeoutMs: config.shutdown.timeoutMs,
      beforeClose: [() => receiver.stream.closeAll(), () => receiver.triggers?.stop()],
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
