import { PassThrough } from 'node:stream';
import { createAlertFeed } from '../../src/alerts/alert-feed.js';
import { createAlertSink } from '../../src/alerts/alert-sink.js';
import { createMemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { createApp } from '../../src/http/create-app.js';
import { createAlertStream } from '../../src/http/routes/stream.js';
import { createLogger } from '../../src/logging/create-logger.js';
import { createMetrics, type MetricsOptions } from '../../src/metrics/metrics.js';
import { createLifecycle } from '../../src/server/lifecycle.js';

export interface TestAppOptions {
  metrics?: Partial<MetricsOptions>;
  store?: { maxAlerts?: number; maxBytes?: number };
  bodyLimitBytes?: number;
  now?: () => number;
}

/** A real app with its own registry, store and a log sink the test can read as objects. */
export function buildTestApp(options: TestAppOptions = {}) {
  const logStream = new PassThrough();
  const logLines: Record<string, unknown>[] = [];
  // The raw text too: JSON.parse would round the ns timestamps the lines carry exactly.
  const rawLogLines: string[] = [];
  let pending = '';
  logStream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      rawLogLines.push(line);
      logLines.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  const logger = createLogger({ level: 'debug', destination: logStream });
  const metrics = createMetrics({
    maxRules: 100,
    maxHostnames: 100,
    maxSources: 20,
    extraLabels: [],
    maxExtraLabelValues: 100,
    processMetrics: false,
    ...options.metrics,
  });
  const store = createMemoryAlertStore({ maxAlerts: 1000, maxBytes: 64 * 1024 * 1024, ...options.store });
  const feed = createAlertFeed((err) => logger.error({ err }, 'listener failed'));
  const sink = createAlertSink({ store, feed, metrics, logger, now: options.now });
  const stream = createAlertStream({ feed, store, heartbeatMs: 60_000 });
  const lifecycle = createLifecycle();
  const app = createApp({
    logger,
    metrics,
    store,
    sink,
    stream,
    lifecycle,
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
  });
  return { app, logger, logLines, rawLogLines, metrics, store, feed, sink, stream, lifecycle };
}

interface MetricValues {
  values: { labels: object; value: number; metricName?: string }[];
}

/**
 * The value of one series in the registry, 0 when absent. `series` picks a histogram's
 * `_count`/`_sum`/`_bucket` series (default: the metric itself).
 */
export async function metricValue(
  registry: { getSingleMetric(name: string): { get(): Promise<MetricValues> | MetricValues } | undefined },
  name: string,
  labels: Record<string, string> = {},
  series: string = name,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const found = values.find(
    (v) =>
      (v.metricName ?? name) === series &&
      Object.entries(labels).every(([key, value]) => (v.labels as Record<string, unknown>)[key] === value),
  );
  return found?.value ?? 0;
}
