import { Gauge } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { labelSetsPerProcess } from '../../src/metrics/alert-label-caps.js';
import { createCollectedMetrics } from '../../src/metrics/collected-metrics.js';
import type { PrimaryCounts } from '../../src/metrics/primary-metrics.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import {
  createWorkerMetrics,
  samples,
  sentToPrimary,
  WORKER_METRICS_OPTIONS,
} from '../helpers/worker-metrics.js';

// The primary's own counts, where a test is not about them.
const COUNTS: PrimaryCounts = { killed: 0, desired: 2, available: 2, startFailures: 0, exits: 0 };

describe('createCollectedMetrics', () => {
  it("keeps a departed worker's last counters, histograms and sensors' receipt times in every later aggregate, and drops its other gauges", async () => {
    const [one, two] = [createWorkerMetrics(), createWorkerMetrics()];
    one.recordAlert(makeStoredAlert({ hostname: 'gone' }));
    one.recordRejected('malformed_json');
    new Gauge({ name: 'falco_probe_state', help: 'A state of the process.', registers: [one.registry] }).set(
      1,
    );
    two.recordAlert(makeStoredAlert({ hostname: 'stays' }));
    const collected = createCollectedMetrics(() => 5000);
    collected.record(1, await sentToPrimary(one));
    collected.record(2, await sentToPrimary(two));

    collected.retire(1);
    const text = await collected.aggregate(0, COUNTS).metrics();

    expect(samples(text, 'falco_alerts_total{')).toEqual([
      'falco_alerts_total{rule="Terminal shell in container",priority="Notice",source="syscall"} 2',
    ]);
    expect(samples(text, 'falco_alerts_rejected_total{reason="malformed_json"}')).toEqual([
      'falco_alerts_rejected_total{reason="malformed_json"} 1',
    ]);
    expect(samples(text, 'falco_alert_delivery_delay_seconds_count')).toEqual([
      'falco_alert_delivery_delay_seconds_count{source="syscall"} 2',
    ]);
    expect(samples(text, 'falco_sensor_last_alert_timestamp_seconds{')).toEqual([
      expect.stringContaining('{hostname="gone"}'),
      expect.stringContaining('{hostname="stays"}'),
    ]);
    expect(samples(text, 'falco_probe_state')).toEqual([]);
  });

  // Regression: the departed worker's receipt times were dropped, so the pod's time for a sensor
  // stepped back to an older worker's (FalcoSensorSilent read a change: 10 minutes more before it
  // fired) or vanished with it (never fired).
  it("keeps a sensor's newest receipt time through the end of the worker that had it", async () => {
    const [one, two] = [createWorkerMetrics(), createWorkerMetrics()];
    two.recordAlert(makeStoredAlert({ hostname: 'node-a' }, { receivedAtMs: 1_000_000 }));
    one.recordAlert(makeStoredAlert({ hostname: 'node-a' }, { receivedAtMs: 1_060_000 }));
    const collected = createCollectedMetrics(() => 5000);
    collected.record(1, await sentToPrimary(one));
    collected.record(2, await sentToPrimary(two));

    collected.retire(1);
    collected.retire(2);
    collected.record(3, await sentToPrimary(createWorkerMetrics()));
    const text = await collected.aggregate(0, COUNTS).metrics();

    expect(samples(text, 'falco_sensor_last_alert_timestamp_seconds{')).toEqual([
      'falco_sensor_last_alert_timestamp_seconds{hostname="node-a"} 1060',
    ]);
  });

  // Found by review: past METRICS_MAX_HOSTNAMES a sensor's later alerts count under __overflow__,
  // and its own series, kept from a departed worker and never changing, read as a silent sensor.
  it('leaves out the receipt times of departed workers while a live worker folds hostnames into __overflow__', async () => {
    const one = createWorkerMetrics({ maxHostnames: 1 });
    const two = createWorkerMetrics({ maxHostnames: 1 });
    one.recordAlert(makeStoredAlert({ hostname: 'node-a' }, { receivedAtMs: 1_000_000 }));
    two.recordAlert(makeStoredAlert({ hostname: 'node-b' }, { receivedAtMs: 1_500_000 }));
    const collected = createCollectedMetrics(() => 5000);
    collected.record(1, await sentToPrimary(one));
    collected.record(2, await sentToPrimary(two));
    collected.retire(1);
    const kept = await collected.aggregate(0, COUNTS).metrics();

    // node-a reconnects to worker 2, whose one hostname is node-b's.
    two.recordAlert(makeStoredAlert({ hostname: 'node-a' }, { receivedAtMs: 2_000_000 }));
    collected.record(2, await sentToPrimary(two));
    const folded = await collected.aggregate(0, COUNTS).metrics();

    expect(samples(kept, 'falco_sensor_last_alert_timestamp_seconds{')).toEqual([
      'falco_sensor_last_alert_timestamp_seconds{hostname="node-a"} 1000',
      'falco_sensor_last_alert_timestamp_seconds{hostname="node-b"} 1500',
    ]);
    expect(samples(folded, 'falco_sensor_last_alert_timestamp_seconds{')).toEqual([
      'falco_sensor_last_alert_timestamp_seconds{hostname="__overflow__"} 2000',
      'falco_sensor_last_alert_timestamp_seconds{hostname="node-b"} 1500',
    ]);
  });

  it('shows each live worker by its latest collected metrics, and a worker never collected by nothing', async () => {
    const worker = createWorkerMetrics();
    worker.recordAlert(makeStoredAlert());
    const collected = createCollectedMetrics(() => 5000);
    collected.record(1, await sentToPrimary(worker));
    worker.recordAlert(makeStoredAlert());
    collected.record(1, await sentToPrimary(worker));

    const text = await collected.aggregate(0, COUNTS).metrics();

    expect(samples(text, 'falco_alerts_total{')).toEqual([expect.stringMatching(/ 2$/)]);
  });

  // Node's cluster tells of one worker's leaving twice ('disconnect', 'exit').
  it('adds a departed worker to the retired counts once, however often it is retired', async () => {
    const worker = createWorkerMetrics();
    worker.recordAlert(makeStoredAlert());
    const collected = createCollectedMetrics(() => 5000);
    collected.record(1, await sentToPrimary(worker));

    collected.retire(1);
    collected.retire(1);
    const text = await collected.aggregate(0, COUNTS).metrics();

    expect(samples(text, 'falco_alerts_total{')).toEqual([expect.stringMatching(/ 1$/)]);
  });

  // Regression (metrics review): every metric kept METRICS_MAX_SERIES label sets of the workers gone,
  // so workers replaced one after another, each with other sources, grew the delay histograms to
  // thousands of sources of 16 lines each (test/server/cluster-metrics-bounds.test.ts).
  it('keeps of the departed workers no more sources and hostnames than one worker may have, and all their counts', async () => {
    const limits = { ...WORKER_METRICS_OPTIONS, maxSources: 1, maxHostnames: 1 };
    const collected = createCollectedMetrics(labelSetsPerProcess(limits));
    for (let id = 1; id <= 5; id++) {
      const worker = createWorkerMetrics(limits);
      for (const name of [`a${id}`, `b${id}`])
        worker.recordAlert(makeStoredAlert({ source: name, hostname: name }));
      collected.record(id, await sentToPrimary(worker));
      collected.retire(id);
    }
    const text = await collected.aggregate(0, COUNTS).metrics();

    expect(samples(text, 'falco_alert_delivery_delay_seconds_count{')).toEqual([
      'falco_alert_delivery_delay_seconds_count{source="__overflow__"} 9',
      'falco_alert_delivery_delay_seconds_count{source="a1"} 1',
    ]);
    expect(samples(text, 'falco_sensor_last_alert_timestamp_seconds{')).toHaveLength(2);
    expect(samples(text, 'falco_alerts_total{').length).toBeGreaterThan(2);
  });

  it('says how many workers did not answer, as falco_metrics_workers_unanswered', async () => {
    const text = await createCollectedMetrics(() => 5000)
      .aggregate(1, COUNTS)
      .metrics();

    expect(text).toContain('# TYPE falco_metrics_workers_unanswered gauge');
    expect(samples(text, 'falco_metrics_workers_unanswered ')).toEqual([
      'falco_metrics_workers_unanswered 1',
    ]);
  });

  it("shows the primary's own counts: workers desired and available, starts that failed, exits, workers killed", async () => {
    const counts = { killed: 1, desired: 3, available: 2, startFailures: 4, exits: 6 };
    const text = await createCollectedMetrics(() => 5000)
      .aggregate(0, counts)
      .metrics();

    expect(text).toContain('# TYPE falco_cluster_workers_desired gauge');
    expect(text).toContain('# TYPE falco_cluster_workers_available gauge');
    expect(text).toContain('# TYPE falco_cluster_worker_start_failures_total counter');
    expect(text).toContain('# TYPE falco_cluster_worker_exits_total counter');
    expect(samples(text, 'falco_cluster_')).toEqual([
      'falco_cluster_worker_exits_total 6',
      'falco_cluster_worker_start_failures_total 4',
      'falco_cluster_workers_available 2',
      'falco_cluster_workers_desired 3',
      'falco_cluster_workers_killed_total 1',
    ]);
  });
});
