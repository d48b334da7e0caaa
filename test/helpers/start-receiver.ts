import type http from 'node:http';
import type https from 'node:https';
import { Writable } from 'node:stream';
import { createAlertFeed } from '../../src/alerts/alert-feed.js';
import { createAlertSink } from '../../src/alerts/alert-sink.js';
import { createDedupSink } from '../../src/alerts/dedup-sink.js';
import { createMemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import type { ServerLimits, TlsConfig } from '../../src/config/hardening-env.js';
import { createApp } from '../../src/http/create-app.js';
import { createIngestAuth } from '../../src/http/ingest-auth.js';
import { createAlertStream } from '../../src/http/routes/stream.js';
import { createLogger } from '../../src/logging/create-logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createLifecycle } from '../../src/server/lifecycle.js';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { startTlsServer } from '../../src/server/start-tls-server.js';

export interface ReceiverOptions {
  limits?: ServerLimits;
  tls?: Omit<TlsConfig, 'port'>;
  pathSecret?: string;
  requireClientCert?: boolean;
  dedupWindowMs?: number;
  bodyLimitBytes?: number;
  /** Keep every log line as an object (off for long fuzz runs, which only count them). */
  keepLogLines?: boolean;
}

/** A receiver wired as main.ts wires it, listening on 127.0.0.1 with ephemeral ports. */
export interface TestReceiver {
  port: number;
  tlsPort?: number;
  server: http.Server;
  logLines: Array<Record<string, unknown>>;
  rawLog: () => string;
  metricsText: () => Promise<string>;
  close: () => Promise<void>;
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<TestReceiver> {
  const logLines: Array<Record<string, unknown>> = [];
  let raw = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (options.keepLogLines !== false) {
        const text = chunk.toString('utf8');
        raw += text;
        for (const line of text.split('\n').filter(Boolean))
          logLines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const metrics = createMetrics({
    maxRules: 50,
    maxHostnames: 50,
    maxSources: 20,
    extraLabels: [],
    maxExtraLabelValues: 10,
    processMetrics: false,
  });
  const store = createMemoryAlertStore({ maxAlerts: 1000, maxBytes: 16 * 1024 * 1024 });
  const feed = createAlertFeed(() => undefined);
  const coreSink = createAlertSink({ store, feed, metrics, logger });
  const sink = options.dedupWindowMs
    ? createDedupSink(coreSink, {
        windowMs: options.dedupWindowMs,
        maxEntries: 100,
        registry: metrics.registry,
        logger,
      })
    : coreSink;
  const stream = createAlertStream({ feed, store, heartbeatMs: 15_000 });
  const app = createApp({
    logger,
    metrics,
    store,
    sink,
    stream,
    lifecycle: createLifecycle(),
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
    ingestAuth: createIngestAuth({
      pathSecret: options.pathSecret,
      requireClientCert: options.requireClientCert ?? false,
      registry: metrics.registry,
    }),
  });
  const server = await startServer(app, { host: '127.0.0.1', port: 0, limits: options.limits });
  let tlsServer: https.Server | undefined;
  if (options.tls) {
    tlsServer = await startTlsServer(app, {
      host: '127.0.0.1',
      tls: { ...options.tls, port: 0 },
      limits: options.limits,
    });
  }
  const closeOne = (each: http.Server | https.Server) =>
    new Promise<void>((resolve) => {
      each.close(() => resolve());
      each.closeAllConnections();
    });
  return {
    port: boundPort(server),
    tlsPort: tlsServer ? boundPort(tlsServer) : undefined,
    server,
    logLines,
    rawLog: () => raw,
    metricsText: () => metrics.registry.metrics(),
    close: async () => {
      stream.closeAll();
      await Promise.all([server, ...(tlsServer ? [tlsServer] : [])].map(closeOne));
    },
  };
}
