import { Registry } from 'prom-client';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load-config.js';
import { createRunRegistry } from '../../src/triggers/run-registry.js';
import { createTriggerMetrics } from '../../src/triggers/trigger-metrics.js';
import { createTriggerService } from '../../src/triggers/trigger-service.js';
import { createVerifier } from '../../src/triggers/verify-run.js';

/**
 * A real trigger service whose Kubernetes runs fail fast (no kubeconfig), with its run registry:
 * for tests of what starts runs (the canary schedule), not of the runs themselves.
 */
export function buildTriggerService(env: Record<string, string> = {}) {
  const loaded = loadConfig({
    TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
    TRIGGER_MAX_CONCURRENT: '5',
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const config = loaded.config.triggers;
  const metrics = createTriggerMetrics(new Registry());
  const registry = createRunRegistry(10);
  const logger = pino({ level: 'silent' });
  const verifier = createVerifier({ metrics, windowMs: 60_000 });
  const service = createTriggerService({ config, logger, metrics, verifier, registry, childEnv: {} });
  const request = {
    kind: 'shell',
    target: { backend: 'kubernetes', namespace: 'default', image: 'busybox:1.36' },
  } as const;
  return { service, registry, logger, request };
}
