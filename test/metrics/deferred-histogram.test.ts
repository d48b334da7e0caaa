import { Histogram, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFERRED_MAX_SERIES,
  DEFERRED_MAX_VALUES,
  deferHistogram,
} from '../../src/metrics/deferred-histogram.js';

function histogram(name: string, collect?: () => void) {
  const registry = new Registry();
  const metric = new Histogram({
    name,
    help: 'test',
    labelNames: ['route', 'status'],
    buckets: [0.001, 0.01, 0.1, 1],
    registers: [registry],
    ...(collect ? { collect } : {}),
  });
  return { registry, metric };
}

const labelsOf = (key: string) => {
  const [route, status] = key.split(' ');
  return { route, status };
};

describe('deferHistogram', () => {
  afterEach(() => vi.restoreAllMocks());

  it('gives a read the buckets, sums and counts of observing one by one', async () => {
    const direct = histogram('t_seconds');
    const later = histogram('t_seconds', () => deferred.flush());
    const deferred = deferHistogram(later.metric, labelsOf);
    const values = [0, 0.0005, 0.001, 0.05, 0.5, 3, 1e-9, 0.1];
    for (const [i, value] of values.entries()) {
      const key = i % 3 === 0 ? '/alerts 202' : '/alerts 400';
      direct.metric.observe(labelsOf(key), value);
      deferred.observe(key, value);
    }
    expect(await later.registry.metrics()).toBe(await direct.registry.metrics());
    // A second read finds nothing waiting twice.
    expect(await later.registry.metrics()).toBe(await direct.registry.metrics());
  });

  it('observes nothing before a read, then every waiting value', async () => {
    const { registry, metric } = histogram('t_seconds', () => deferred.flush());
    const deferred = deferHistogram(metric, labelsOf);
    const observe = vi.spyOn(metric, 'observe');
    deferred.observe('/alerts 202', 0.002);
    deferred.observe('/alerts 202', 0.003);
    expect(observe).not.toHaveBeenCalled();
    expect(await registry.metrics()).toContain('t_seconds_count{route="/alerts",status="202"} 2');
    expect(observe).toHaveBeenCalledTimes(2);
  });

  it('observes a series without a read once it holds DEFERRED_MAX_VALUES values', () => {
    const { metric } = histogram('t_seconds');
    const deferred = deferHistogram(metric, labelsOf);
    const observe = vi.spyOn(metric, 'observe');
    for (let i = 1; i < DEFERRED_MAX_VALUES; i++) deferred.observe('/alerts 202', 0.001);
    expect(observe).not.toHaveBeenCalled();
    deferred.observe('/alerts 202', 0.001);
    expect(observe).toHaveBeenCalledTimes(DEFERRED_MAX_VALUES);
  });

  it('observes every waiting series without a read once DEFERRED_MAX_SERIES of them wait', async () => {
    const { registry, metric } = histogram('t_seconds', () => deferred.flush());
    const deferred = deferHistogram(metric, labelsOf);
    const observe = vi.spyOn(metric, 'observe');
    for (let i = 0; i < DEFERRED_MAX_SERIES; i++) deferred.observe(`/r${i} 202`, 0.001);
    expect(observe).not.toHaveBeenCalled();
    deferred.observe('/one-more 202', 0.001);
    expect(observe).toHaveBeenCalledTimes(DEFERRED_MAX_SERIES);
    const text = await registry.metrics();
    expect(text).toContain('t_seconds_count{route="/r0",status="202"} 1');
    expect(text).toContain('t_seconds_count{route="/one-more",status="202"} 1');
  });

  it('drops a value that is not a finite number instead of failing the read', async () => {
    const { registry, metric } = histogram('t_seconds', () => deferred.flush());
    const deferred = deferHistogram(metric, labelsOf);
    for (const value of [Number.NaN, Infinity, 0.002]) deferred.observe('/alerts 202', value);
    expect(await registry.metrics()).toContain('t_seconds_count{route="/alerts",status="202"} 1');
  });
});
