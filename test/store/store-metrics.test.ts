import { execa } from 'execa';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createStoreMetrics } from '../../src/store/store-metrics.js';
import { commandWorks, requireComponent } from '../helpers/components.js';

const promtoolReady = requireComponent('promtool', commandWorks('promtool', ['--version']));

function build(state: { up: boolean; pending: number; replicaOnline?: boolean }) {
  const registry = new Registry();
  const metrics = createStoreMetrics(registry, {
    isUp: () => state.up,
    pending: () => state.pending,
    replicaOnline: state.replicaOnline === undefined ? undefined : () => state.replicaOnline!,
  });
  return { registry, metrics };
}

describe('createStoreMetrics', () => {
  it('reads up and pending when scraped, and counts failures, drops and duplicates', async () => {
    const state = { up: false, pending: 7 };
    const { registry, metrics } = build(state);
    await metrics.time('write', async () => undefined);
    metrics.writeFailed();
    metrics.pendingDropped(3);
    metrics.duplicatesDropped(2);

    const text = await registry.metrics();
    expect(text).toMatch(/^falco_store_up 0$/m);
    expect(text).toMatch(/^falco_store_pending_alerts 7$/m);
    expect(text).toMatch(/^falco_store_write_failures_total 1$/m);
    expect(text).toMatch(/^falco_store_pending_dropped_total 3$/m);
    expect(text).toMatch(/^falco_store_duplicates_dropped_total 2$/m);
    expect(text).toMatch(/^falco_store_operation_duration_seconds_count\{op="write"\} 1$/m);
    state.up = true;
    expect(await registry.metrics()).toMatch(/^falco_store_up 1$/m);
  });

  it('reports whether the master has a replica online only when told how to read it (through Sentinel)', async () => {
    const without = build({ up: true, pending: 0 });
    expect(await without.registry.metrics()).not.toMatch(/falco_store_replica_online/);

    const state = { up: true, pending: 0, replicaOnline: false };
    const { registry } = build(state);
    expect(await registry.metrics()).toMatch(/^falco_store_replica_online 0$/m);
    state.replicaOnline = true;
    expect(await registry.metrics()).toMatch(/^falco_store_replica_online 1$/m);
  });

  it.skipIf(!promtoolReady)('passes promtool check metrics', async () => {
    const { registry, metrics } = build({ up: true, pending: 0, replicaOnline: true });
    await metrics.time('query', async () => undefined);
    const lint = await execa('promtool', ['check', 'metrics'], {
      input: await registry.metrics(),
      reject: false,
      timeout: 30_000,
    });
    expect(lint.stderr).toBe('');
    expect(lint.exitCode).toBe(0);
  });
});
