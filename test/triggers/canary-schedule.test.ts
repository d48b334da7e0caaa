import { Registry } from 'prom-client';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { startCanarySchedule } from '../../src/triggers/canary-schedule.js';
import { createRunRegistry } from '../../src/triggers/run-registry.js';
import { createTriggerMetrics } from '../../src/triggers/trigger-metrics.js';
import { createTriggerService } from '../../src/triggers/trigger-service.js';
import { createVerifier } from '../../src/triggers/verify-run.js';

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('startCanarySchedule', () => {
  it('starts a run every interval until stopped', async () => {
    const loaded = loadConfig({ TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig', TRIGGER_MAX_CONCURRENT: '5' });
    if (!loaded.ok) throw new Error('config');
    const config = loaded.config.triggers;
    const metrics = createTriggerMetrics(new Registry());
    const registry = createRunRegistry(10);
    const logger = pino({ level: 'silent' });
    const verifier = createVerifier({ metrics, windowMs: 60_000 });
    const service = createTriggerService({ config, logger, metrics, verifier, registry, childEnv: {} });
    stops.push(() => service.stop(1_000));
    const request = {
      kind: 'shell',
      target: { backend: 'kubernetes', namespace: 'default', image: 'busybox:1.36' },
    } as const;

    const stop = startCanarySchedule({ service, request, intervalMs: 100, logger });
    stops.push(stop);
    await new Promise((resolve) => setTimeout(resolve, 350));
    stop();
    const count = (await registry.list()).length;
    await new Promise((resolve) => setTimeout(resolve, 250));

    expect(count).toBeGreaterThanOrEqual(2);
    const runs = await registry.list();
    expect(runs).toHaveLength(count);
    expect(runs[0]?.target).toEqual({
      backend: 'kubernetes',
      namespace: 'default',
      image: 'busybox:1.36',
    });
  });
});
