import cluster from 'node:cluster';
import { ConfigurationProblems } from './config/configuration-problems.js';
import { loadConfig } from './config/load-config.js';
import { emptyVariables, unknownVariables } from './config/ignored-variables.js';
import { openSettings } from './config/open-settings.js';
import { createReceiver } from './create-receiver.js';
import { routeConsoleToLog } from './logging/console-to-log.js';
import { createLogger } from './logging/create-logger.js';
import { loadKubeClient } from './runners/kube-client.js';
import { announceReady, runClusterPrimary } from './server/cluster-primary.js';
import { clusterTls } from './server/cluster-tls-files.js';
import { trackConnections } from './server/connection-tracker.js';
import { shutdownGracefully } from './server/graceful-shutdown.js';
import { ANY_ADDRESS, boundAddress, boundPort, startServer } from './server/start-server.js';
import { startTlsServer } from './server/start-tls-server.js';
import { loadTlsCredentials } from './server/tls-credentials.js';
import { sendHeartbeats } from './server/worker-watchdog.js';

// Bad configuration: every problem listed, and exit 2 before listening (1 is a start that failed).
// A cluster worker's configuration is the one the primary started with: the files it names changed
// since (a renewal half written), and once a worker has started the primary starts it again and
// again (cluster-primary.ts), naming no reason. Said as a JSON line as well, as stderr is none.
function exitWithProblems(problems: readonly string[]): never {
  if (cluster.isWorker)
    createLogger({ level: 'info' }).error(
      { event: 'worker_config_invalid', worker: cluster.worker?.id, problems },
      'the files the configuration names no longer pass its checks: this worker exits before listening',
    );
  process.stderr.write(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(2);
}

// Composition root: loadConfig → logger → (cluster primary | receiver: metrics, store, app) → listen → shutdown.
async function main(): Promise<void> {
  const loaded = loadConfig(process.env);
  if (!loaded.ok) exitWithProblems(loaded.problems);
  const { config } = loaded;
  const rootLogger = createLogger({ level: config.logLevel });
  // stdout holds JSON lines only: what a library prints goes into them.
  routeConsoleToLog(rootLogger);
  // The name many tools read: set alone it left every replica on its own in-memory store, silently.
  if (process.env.REDIS_URL !== undefined && cluster.isPrimary)
    rootLogger.warn(
      { event: 'config_ignored', variable: 'REDIS_URL', store: config.store.redis ? 'redis' : 'memory' },
      'REDIS_URL is not read: the shared store is STORE_URL=redis://... (or STORE_SENTINELS)',
    );
  // A misspelt name (VIEWER_TOKENS_FILE, TRIGGER_ENABLED) left its setting at the default, silently.
  for (const { variable, suggestion } of cluster.isPrimary ? unknownVariables(process.env) : [])
    rootLogger.warn(
      { event: 'config_ignored', variable, suggestion },
      `${variable} is not a variable this service reads${suggestion ? `: did you mean ${suggestion}?` : ''}`,
    );
  // VIEWER_TOKEN= (a Secret's key left empty) counts as unset: said, since reading then stays open.
  for (const { variable, open } of cluster.isPrimary ? emptyVariables(process.env) : [])
    rootLogger.warn(
      { event: 'config_ignored', variable },
      `${variable} is set but empty, so it counts as unset: ${open}`,
    );
  for (const { variable, open } of cluster.isPrimary ? openSettings(config) : [])
    rootLogger.warn({ event: 'config_open', variable }, `${variable}: ${open}`);
  // A schedule for runs that cannot happen: said once, as REDIS_URL is.
  if (config.triggers.canary.intervalMinutes > 0 && !config.triggers.enabled && cluster.isPrimary)
    rootLogger.warn(
      { event: 'config_ignored', variable: 'TRIGGER_CANARY_INTERVAL_MINUTES' },
      'TRIGGER_CANARY_INTERVAL_MINUTES is not read: scheduled trigger runs need TRIGGERS_ENABLED=true',
    );
  // WORKERS > 1: this process only forks, supervises and aggregates metrics; workers serve HTTP.
  const clustered = config.cluster.workers > 1;
  if (clustered && cluster.isPrimary) {
    // Without Redis each worker keeps its own store, live stream and dedup window: say so plainly.
    if (!config.store.redis)
      rootLogger.warn(
        { event: 'workers_split_store', workers: config.cluster.workers },
        'WORKERS>1 with the in-memory store: each worker holds only the alerts it received (GET /alerts, the live stream and the dashboard show one worker, and DEDUP_WINDOW_MS drops only re-sends that reach the same worker); set STORE_URL to share them',
      );
    return runClusterPrimary({
      workers: config.cluster.workers,
      stuckTimeoutMs: config.cluster.stuckTimeoutMs,
      metricsLimits: config.metrics,
      logger: rootLogger,
    });
  }
  if (clustered) sendHeartbeats();
  const logger = clustered ? rootLogger.child({ worker: cluster.worker?.id }) : rootLogger;
  // Trigger child processes get an allow-listed subset of this environment (see triggers/).
  const receiver = createReceiver(config, { logger, parentEnv: process.env, clusterWorker: clustered });

  const { hardening } = config;
  // Every listener has the same limits and counts (and logs) what they refuse on the same metrics,
  // and writes the app's held-back counted lines (auth_refused, ...) at its close or the exit.
  const guarded = {
    limits: hardening.server,
    logger,
    onRefusedConnection: receiver.metrics.recordRefusedConnection,
    onClientError: receiver.metrics.recordClientError,
    flushLines: receiver.flushLines,
  };
  // WORKERS > 1: what the workers up serve on TLS_PORT, and where this one says what it serves.
  const tlsCluster = clustered ? { clusterTls: clusterTls(process.env) } : {};
  // Read before any listener is up: a replaced worker that must not serve them exits (tls-credentials.ts)
  // before node:cluster hands it connections. Read after PORT was up, it dropped the few it had been
  // handed at each retry, Falco's alerts among them.
  const tlsCredentials =
    hardening.tls && loadTlsCredentials(hardening.tls, { logger, metrics: receiver.metrics, ...tlsCluster });
  // With Redis, listen once it has been tried: an alert taken before the first link is up is
  // answered at once from the queue alone, and lost if this process is killed before it connects.
  await receiver.storeTried();
  // With triggers on, the Kubernetes client every run uses is loaded before listening: imported at
  // the first run (or canary), it held the event loop 0.6-1.2 s, every request waiting, alerts included.
  if (receiver.triggers) await loadKubeClient();
  const server = await startServer(receiver.app, { host: config.host, port: config.port, ...guarded });
  const listeners = [{ server, connections: trackConnections(server) }];
  if (hardening.tls) {
    const tlsServer = await startTlsServer(receiver.app, {
      host: config.host,
      tls: hardening.tls,
      ...guarded,
      onTlsHandshakeFailure: receiver.metrics.recordTlsHandshakeFailure,
      credentialMetrics: receiver.metrics,
      ...tlsCluster,
      credentials: tlsCredentials,
    });
    listeners.push({ server: tlsServer, connections: trackConnections(tlsServer) });
    const mtls = hardening.tls.clientCaFile !== undefined;
    logger.info(
      { event: 'listening_tls', host: boundAddress(tlsServer), port: boundPort(tlsServer), mtls },
      'TLS listener up',
    );
  }
  if (receiver.adminApp && config.auth.adminPort !== undefined) {
    const admin = await startServer(receiver.adminApp, {
      host: config.host,
      port: config.auth.adminPort,
      ...guarded,
    });
    listeners.push({ server: admin, connections: trackConnections(admin) });
    logger.info(
      { event: 'listening_admin', host: boundAddress(admin), port: boundPort(admin) },
      'admin listener up',
    );
  }
  // HOST=:: on a node without IPv6: every listener took 0.0.0.0 instead (listen in start-server.ts).
  if (config.host === ANY_ADDRESS && boundAddress(server) !== ANY_ADDRESS)
    logger.warn(
      { event: 'ipv6_unavailable', host: config.host, address: boundAddress(server) },
      'HOST=:: but this node has no IPv6: listening on IPv4 addresses only',
    );
  // Logged last: once this line is out, every listener accepts connections. `host` is the address
  // bound, which is HOST's but for that fallback.
  logger.info(
    { event: 'listening', host: boundAddress(server), port: boundPort(server) },
    'falco-alert-receiver listening',
  );
  if (clustered) announceReady();

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'signal', signal }, 'signal received');
    // Running triggers are cancelled and get SHUTDOWN_TIMEOUT_MS for their cleanup (a helm
    // uninstall, a pod deletion) while the requests drain, not before: a release left installed
    // stays in the cluster, and the pod's grace is spent on the drain as well. Shutdown completes
    // after both, so a run cut short is logged (naming what may be left) before it, and not drained.
    const { triggers } = receiver;
    void shutdownGracefully({
      listeners,
      lifecycle: receiver.lifecycle,
      logger,
      delayMs: config.shutdown.delayMs,
      timeoutMs: config.shutdown.timeoutMs,
      beforeClose: [() => receiver.stream.closeAll()],
      alongside: triggers ? [() => triggers.stop(config.shutdown.timeoutMs)] : [],
      // After the last request: queued alerts get a last chance to reach the shared store, up to
      // SHUTDOWN_TIMEOUT_MS (a Redis failing over may be back by then). The runs' ends are saved first.
      afterClose: [() => receiver.closeStore(config.shutdown.timeoutMs)],
    }).then((drained) => process.exit(drained ? 0 : 1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  // Files loadConfig passed that changed before the listener read them (tls-credentials.ts).
  if (error instanceof ConfigurationProblems) exitWithProblems(error.problems);
  process.stderr.write(
    `falco-alert-receiver failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
