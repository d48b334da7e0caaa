import { Registry } from 'prom-client';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load-config.js';
import { createRunRegistry } from '../../src/triggers/run-registry.js';
import type { SharedRuns } from '../../src/triggers/shared-runs.js';
import { createTriggerMetrics } from '../../src/triggers/trigger-metrics.js';
import { createTriggerService } from '../../src/triggers/trigger-service.js';
import { createVerifier } from '../../src/triggers/verify-run.js';

/** A replica's link to the shared runs, with its lease, and the environment its commands get. */
export interface SharedReplica {
  shared: SharedRuns;
  leaseMs: number;
  childEnv?: Record<string, string>;
}

/**
 * A real trigger service whose Kubernetes runs fail fast (no kubeconfig), with its run registry
 * and verifier (window 60 s unless `env` sets one): for tests of what starts runs (the canary
 * schedule) and of replicas sharing runs; `logs` holds its log lines. With `replica`, wired as create-triggers.ts does with a
 * shared store (its commands from `childEnv`); `metrics` is its own registry.
 */
export function buildTriggerService(env: Record<string, string> = {}, replica?: SharedReplica) {
  const loaded = loadConfig({
    TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
    TRIGGER_MAX_CONCURRENT: '5',
    TRIGGER_VERIFY_WINDOW_MS: '60000',
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const config = loaded.config.triggers;
  const metrics = new Registry();
  const triggerMetrics = createTriggerMetrics(metrics);
  const verifier = createVerifier({
    metrics: triggerMetrics,
    windowMs: config.verifyWindowMs,
    count: (run, record) => registry.count(run, record),
  });
  const registry = createRunRegistry(10, replica?.shared, {
    leaseMs: replica?.leaseMs,
    onLost: (run) => verifier.forget(run),
  });
  // Its log lines, as objects (synchronous: a line is there once its call returned).
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const service = createTriggerService({
    config,
    logger,
    metrics: triggerMetrics,
    verifier,
    registry,
    shared: replica?.shared,
    childEnv: replica?.childEnv ?? {},
    slotLeaseMs: replica?.leaseMs,
  });
  const request = {
    kind: 'shell',
    target: { backend: 'kubernetes', namespace: 'default', image: 'busybox:1.36' },
  } as const;
  return { service, registry, verifier, logger, logs, request, metrics };
}
