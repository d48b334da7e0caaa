import { afterEach, describe, expect, it } from 'vitest';
import { startCanarySchedule } from '../../src/triggers/canary-schedule.js';
import { buildTriggerService } from '../helpers/trigger-service.js';

const stops: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('startCanarySchedule', () => {
  it('starts a run every interval until stopped', async () => {
    const { service, registry, logger, request } = buildTriggerService();
    stops.push(() => service.stop(1_000));

    const stop = startCanarySchedule({ service, request, intervalMs: 100, logger });
    stops.push(stop);
    await new Promise((resolve) => setTimeout(resolve, 350));
    stop();
    const count = (await registry.list()).runs.length;
    await new Promise((resolve) => setTimeout(resolve, 250));

    expect(count).toBeGreaterThanOrEqual(2);
    const { runs } = await registry.list();
    expect(runs).toHaveLength(count);
    expect(runs[0]?.target).toEqual({
      backend: 'kubernetes',
      namespace: 'default',
      image: 'busybox:1.36',
    });
  });
});
