import type { RequestListener } from 'node:http';
import type { AlertFeed } from '../../src/alerts/alert-feed.js';
import type { Triggers } from '../../src/triggers/create-triggers.js';
import { buildTestApp, metricValue } from './test-app.js';

export interface TriggerApp {
  app: RequestListener;
  triggers?: Triggers;
  /** The feed verification listens to (with Redis, the shared stream's reader publishes to it). */
  feed: AlertFeed;
  /** Log lines written so far, parsed. */
  logs: Array<Record<string, unknown>>;
  /** The value of one series on the app's registry (0 when absent); `series` picks e.g. a histogram's `_count`. */
  metricValue(name: string, labels: Record<string, string>, series?: string): Promise<number>;
  /** Writes the counted lines held back (auth_refused, ...), as a listener's close does (main.ts). */
  flushLines(): void;
  stop(): Promise<void>;
  /**
   * Dies as a killed replica does, as far as the others can tell: its Redis links close without
   * the shutdown path, so it neither saves nor holds its runs any more (call `stop` to clean up).
   */
  crash(): Promise<void>;
}

/** Builds the app the way main.ts does, from an environment, with its own registry and a readable log. */
export function buildTriggerApp(
  env: Record<string, string>,
  parentEnv: Record<string, string | undefined> = process.env,
  options: { triggerLeaseMs?: number } = {},
): TriggerApp {
  const built = buildTestApp({ env, parentEnv, logLevel: 'info', ...options });
  return {
    app: built.app,
    triggers: built.triggers,
    feed: built.feed,
    logs: built.logLines,
    metricValue: (name, labels, series) => metricValue(built.metrics.registry, name, labels, series),
    flushLines: built.flushLines,
    async stop() {
      built.stream.closeAll();
      await built.triggers?.stop(1_000);
      await built.closeStore();
    },
    crash: () => built.closeStore(),
  };
}
