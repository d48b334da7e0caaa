import { PassThrough } from 'node:stream';
import { loadConfig } from '../../src/config/load-config.js';
import { createReceiver, type ReceiverOptions } from '../../src/create-receiver.js';
import { createLogger } from '../../src/logging/create-logger.js';

export interface TestAppOptions {
  /** Environment overrides, parsed by the service's own config loader. */
  env?: Record<string, string>;
  now?: () => number;
  parentEnv?: ReceiverOptions['parentEnv'];
  triggerRouter?: ReceiverOptions['triggerRouter'];
  logLevel?: string;
  triggerLeaseMs?: ReceiverOptions['triggerLeaseMs'];
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
  const logger = createLogger({ level: options.logLevel ?? 'debug', destination: logStream });
  const loaded = loadConfig({ STREAM_HEARTBEAT_MS: '60000', ...options.env });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const receiver = createReceiver(loaded.config, {
    logger,
    now: options.now,
    processMetrics: false,
    parentEnv: options.parentEnv,
    triggerRouter: options.triggerRouter,
    triggerLeaseMs: options.triggerLeaseMs,
  });
  return { ...receiver, logLines, rawLogLines };
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
