import { Writable } from 'node:stream';
import type express from 'express';
import { createAlertFeed } from '../../src/alerts/alert-feed.js';
import { createAlertSink } from '../../src/alerts/alert-sink.js';
import { createMemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createApp } from '../../src/http/create-app.js';
import { createAlertStream } from '../../src/http/routes/stream.js';
import { createLogger } from '../../src/logging/create-logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createLifecycle } from '../../src/server/lifecycle.js';
import { createTriggers, type Triggers } from '../../src/triggers/create-triggers.js';

export interface TriggerApp {
  app: express.Express;
  triggers?: Triggers;
  /** Log lines written so far, parsed. */
  logs: Array<Record<string, unknown>>;
  /** The value of one series on the app's registry (0 when absent); `series` picks e.g. a histogram's `_count`. */
  metricValue(name: string, labels: Record<string, string>, series?: string): Promise<number>;
  stop(): Promise<void>;
}

/** Builds the app the way main.ts does, from an environment, with its own registry and a readable log. */
export function buildTriggerApp(
  env: Record<string, string>,
  parentEnv: Record<string, string | undefined> = process.env,
): TriggerApp {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(`bad test config: ${loaded.problems.join('; ')}`);
  const { config } = loaded;
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const metrics = createMetrics({ ...config.metrics, processMetrics: false });
  const store = createMemoryAlertStore(config.store);
  const feed = createAlertFeed((err) => logger.error({ err }, 'alert listener failed'));
  const sink = createAlertSink({ store, feed, metrics, logger });
  const stream = createAlertStream({ feed, store, heartbeatMs: config.stream.heartbeatMs });
  const triggers = config.triggers.enabled
    ? createTriggers({ config: config.triggers, logger, registry: metrics.registry, parentEnv })
    : undefined;
  if (triggers) feed.subscribe(triggers.observeAlert);
  const app = createApp({
    logger,
    metrics,
    store,
    sink,
    stream,
    lifecycle: createLifecycle(),
    bodyLimitBytes: config.bodyLimitBytes,
    routers: triggers ? [triggers.router] : [],
  });
  return {
    app,
    triggers,
    logs,
    async metricValue(name, labels, series) {
      const metric = await metrics.registry.getSingleMetric(name)?.get();
      const match = metric?.values.find(
        (value) =>
          (series === undefined || (value as { metricName?: string }).metricName === series) &&
          Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted),
      );
      return match?.value ?? 0;
    },
    async stop() {
      stream.closeAll();
      await triggers?.stop(1_000);
    },
  };
}
