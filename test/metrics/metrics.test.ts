import { afterEach, describe, expect, it, vi } from 'vitest';
import { PRIORITIES } from '../../src/alerts/priority.js';
import { PENDING_MAX_CHARS, PENDING_MAX_ENTRIES } from '../../src/metrics/alert-recorder.js';
import { ExactCounter } from '../../src/metrics/exact-counter.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { metricValue } from '../helpers/test-app.js';

const base = {
  maxRules: 2,
  maxHostnames: 1,
  maxSources: 5,
  extraLabels: [],
  maxExtraLabelValues: 2,
  maxSeries: 1000,
  processMetrics: false,
};

describe('createMetrics', () => {
  it('counts rules past the cap as __overflow__ and counts the overflow per metric and label', async () => {
    const metrics = createMetrics(base);
    for (const rule of ['r1', 'r2', 'r3', 'r4']) metrics.recordAlert(makeStoredAlert({ rule }));
    const overflowed = { rule: '__overflow__', priority: 'Notice', source: 'syscall' };
    expect(await metricValue(metrics.registry, 'falco_alerts_total', overflowed)).toBe(2);
    expect(await metricValue(metrics.registry, 'falco_alerts_total', { rule: 'r1' })).toBe(1);
    expect(
      await metricValue(metrics.registry, 'falco_metrics_label_overflow_total', {
        metric: 'falco_alerts_total',
        label: 'rule',
      }),
    ).toBe(2);
  });

  it('counts the alerts of one turn per series with the totals and overflow counts of one by one', async () => {
    const metrics = createMetrics(base);
    // One turn: r3 overflows the rule cap three times, r1 repeats.
    // Hostnames are capped at one: b overflows twice.
    for (const [rule, hostname] of [
      ['r1', 'a'],
      ['r2', 'b'],
      ['r3', 'a'],
      ['r3', 'b'],
      ['r1', 'a'],
      ['r3', 'a'],
    ])
      metrics.recordAlert(makeStoredAlert({ rule, hostname }));
    await Promise.resolve();
    // The next turn: counted on top, then read before its own end (the metrics' collect counts it).
    metrics.recordAlert(makeStoredAlert({ rule: 'r3', hostname: 'a' }));
    metrics.recordAlert(makeStoredAlert({ rule: 'r2', hostname: 'b' }));
    const overflowed = { rule: '__overflow__', priority: 'Notice', source: 'syscall' };
    expect(await metricValue(metrics.registry, 'falco_alerts_total', overflowed)).toBe(4);
    expect(await metricValue(metrics.registry, 'falco_alerts_total', { rule: 'r1' })).toBe(2);
    expect(await metricValue(metrics.registry, 'falco_alerts_total', { rule: 'r2' })).toBe(2);
    const ruleOverflow = { metric: 'falco_alerts_total', label: 'rule' };
    expect(await metricValue(metrics.registry, 'falco_metrics_label_overflow_total', ruleOverflow)).toBe(4);
    const hostOverflow = { metric: 'falco_sensor_last_alert_timestamp_seconds', label: 'hostname' };
    expect(await metricValue(metrics.registry, 'falco_metrics_label_overflow_total', hostOverflow)).toBe(3);
  });

  it('caps hostnames on the sensor gauge', async () => {
    const metrics = createMetrics(base);
    metrics.recordAlert(makeStoredAlert({ hostname: 'a' }));
    metrics.recordAlert(makeStoredAlert({ hostname: 'b' }));
    const values = (
      await metrics.registry.getSingleMetric('falco_sensor_last_alert_timestamp_seconds')!.get()
    ).values;
    expect(values.map((v) => v.labels['hostname']).sort()).toEqual(['__overflow__', 'a']);
  });

  // Regression (review): with the cap full, hostX at t1, hostY at t2 and hostX again at t3 set the
  // __overflow__ gauge once per hostname in first-seen order, so it showed t2, not t3.
  it('gives a capped hostname label the latest delivery of the hostnames it stands for', async () => {
    const lastAlert = (metrics: ReturnType<typeof createMetrics>, hostname: string) =>
      metricValue(metrics.registry, 'falco_sensor_last_alert_timestamp_seconds', { hostname });
    const record = (metrics: ReturnType<typeof createMetrics>, deliveries: Array<[string, number]>) => {
      for (const [hostname, seconds] of deliveries)
        metrics.recordAlert(makeStoredAlert({ hostname }, { receivedAtMs: seconds * 1000 }));
    };
    const full = createMetrics(base);
    record(full, [['a', 100]]);
    expect(await lastAlert(full, 'a')).toBe(100);

    record(full, [
      ['x', 101],
      ['y', 102],
      ['x', 103],
    ]);

    expect(await lastAlert(full, '__overflow__')).toBe(103);
    // Two hostnames cut to the same 200 bytes share one label value too.
    const cut = createMetrics({ ...base, maxHostnames: 5 });
    const long = 'n'.repeat(300);
    record(cut, [
      [`${long}1`, 201],
      [`${long}2`, 202],
      [`${long}1`, 203],
    ]);
    expect(await lastAlert(cut, 'n'.repeat(200))).toBe(203);
  });

  it('adds allow-listed output_fields as capped labels', async () => {
    const metrics = createMetrics({ ...base, extraLabels: [{ field: 'k8s.ns.name', label: 'k8s_ns_name' }] });
    for (const ns of ['default', 'kube-system', 'evil', 'default']) {
      metrics.recordAlert(makeStoredAlert({ output_fields: { 'k8s.ns.name': ns } }));
    }
    metrics.recordAlert(makeStoredAlert({ output_fields: {} }));
    expect(await metricValue(metrics.registry, 'falco_alerts_total', { k8s_ns_name: 'default' })).toBe(2);
    expect(await metricValue(metrics.registry, 'falco_alerts_total', { k8s_ns_name: '__overflow__' })).toBe(
      2,
    );
  });

  it('never reads an inherited property for an allow-listed field named __proto__', async () => {
    const metrics = createMetrics({ ...base, extraLabels: [{ field: '__proto__', label: 'proto' }] });
    metrics.recordAlert(makeStoredAlert({ output_fields: {} }));
    expect(await metricValue(metrics.registry, 'falco_alerts_total', { proto: '' })).toBe(1);
  });

  // Regression (review): a turn's alerts were merged by rule, priority, source and fields joined by
  // NULs, so a NUL in a rule or a field made two alerts one entry, counted under the first's labels.
  it('counts apart two alerts of one turn whose rule and field differ only in where a NUL falls', async () => {
    const metrics = createMetrics({ ...base, extraLabels: [{ field: 'proc.name', label: 'proc_name' }] });
    const rule = 'A\u0000Notice\u0000syscall';
    metrics.recordAlert(makeStoredAlert({ rule, output_fields: { 'proc.name': 'sh' } }));
    metrics.recordAlert(
      makeStoredAlert({ rule: 'A', output_fields: { 'proc.name': 'Notice\u0000syscall\u0000sh' } }),
    );

    const text = await metrics.registry.metrics();

    const series = text.split('\n').filter((line) => line.startsWith('falco_alerts_total{'));
    expect(series.sort()).toEqual([
      'falco_alerts_total{rule="A",priority="Notice",source="syscall",proc_name="Notice\uFFFDsyscall\uFFFDsh"} 1',
      'falco_alerts_total{rule="A\uFFFDNotice\uFFFDsyscall",priority="Notice",source="syscall",proc_name="sh"} 1',
    ]);
  });

  it('starts every reject reason at zero', async () => {
    const metrics = createMetrics(base);
    const text = await metrics.registry.metrics();
    expect(text).toContain('falco_alerts_rejected_total{reason="malformed_json"} 0');
    expect(text).toContain('falco_alerts_rejected_total{reason="payload_too_large"} 0');
  });

  // Regression (metrics review): the series of a capped label appeared only at its first overflow,
  // already counting it, so increase() (README: watch this counter) never saw the cap filled by
  // one burst of junk rule names, as falco_metrics_series_overflow_total's zero start prevents.
  it('starts the overflow count of every capped label at zero, so increase() sees the first value replaced', async () => {
    const metrics = createMetrics({ ...base, extraLabels: [{ field: 'k8s.ns.name', label: 'k8s_ns_name' }] });
    const text = await metrics.registry.metrics();
    const lines = text.split('\n').filter((line) => line.startsWith('falco_metrics_label_overflow_total{'));
    expect(lines.sort()).toEqual([
      'falco_metrics_label_overflow_total{metric="falco_alerts_total",label="k8s_ns_name"} 0',
      'falco_metrics_label_overflow_total{metric="falco_alerts_total",label="rule"} 0',
      'falco_metrics_label_overflow_total{metric="falco_alerts_total",label="source"} 0',
      'falco_metrics_label_overflow_total{metric="falco_sensor_last_alert_timestamp_seconds",label="hostname"} 0',
    ]);
  });

  it('records negative delivery delay (sensor clock ahead) as zero', async () => {
    const metrics = createMetrics(base);
    metrics.recordAlert(makeStoredAlert({}, { receivedAtMs: 1000, timeMs: 5000 }));
    expect(
      await metricValue(
        metrics.registry,
        'falco_alert_delivery_delay_seconds',
        { source: 'syscall' },
        'falco_alert_delivery_delay_seconds_sum',
      ),
    ).toBe(0);
  });

  it('starts the clock-ahead series of each source at 0 and takes at most a week from one alert', async () => {
    const metrics = createMetrics({ ...base, maxSources: 2 });
    metrics.recordAlert(makeStoredAlert({ source: 'k8s_audit' }, { receivedAtMs: 1000, timeMs: 0 }));
    // A time some 300 years ahead.
    metrics.recordAlert(makeStoredAlert({}, { receivedAtMs: 0, timeMs: 1e13 }));

    const text = await metrics.registry.metrics();

    expect(text).toContain('falco_alert_clock_ahead_seconds_count{source="k8s_audit"} 0');
    expect(text).toContain('falco_alert_clock_ahead_seconds_sum{source="syscall"} 604800');
    expect(text).toContain('falco_alert_clock_ahead_seconds_bucket{le="86400",source="syscall"} 0');
    expect(text).toContain('falco_alert_clock_ahead_seconds_bucket{le="+Inf",source="syscall"} 1');
  });

  it('observes how far ahead alerts stamped 1 s or more after their receipt were, by their capped source', async () => {
    const metrics = createMetrics({ ...base, maxSources: 1 });
    // 4 s and exactly 1 s ahead count; 0.999 s ahead and 2 s behind do not.
    metrics.recordAlert(makeStoredAlert({}, { receivedAtMs: 1000, timeMs: 5000 }));
    metrics.recordAlert(makeStoredAlert({}, { receivedAtMs: 1000, timeMs: 2000 }));
    metrics.recordAlert(makeStoredAlert({}, { receivedAtMs: 1000, timeMs: 1999 }));
    metrics.recordAlert(makeStoredAlert({}, { receivedAtMs: 3000, timeMs: 1000 }));
    // A second source is past the cap of one.
    metrics.recordAlert(makeStoredAlert({ source: 'k8s_audit' }, { receivedAtMs: 0, timeMs: 3_600_000 }));

    const text = await metrics.registry.metrics();

    const lines = text
      .split('\n')
      .filter((line) => /^falco_alert_clock_ahead_seconds_(count|sum)/.test(line));
    expect(lines.sort()).toEqual([
      'falco_alert_clock_ahead_seconds_count{source="__overflow__"} 1',
      'falco_alert_clock_ahead_seconds_count{source="syscall"} 2',
      'falco_alert_clock_ahead_seconds_sum{source="__overflow__"} 3600',
      'falco_alert_clock_ahead_seconds_sum{source="syscall"} 5',
    ]);
    expect(text).toContain('falco_alert_clock_ahead_seconds_bucket{le="2",source="syscall"} 1');
  });
});

// Regression (security review): rules full of characters /metrics escapes made the page 2.67 MiB
// where README said about 1.5 MB. README's bound: a series of falco_alerts_total at most 480 bytes,
// the whole page at the default caps under 2.8 MB (besides the request histogram).
describe('the size of /metrics', () => {
  it('stays within the bound README states when every cap is filled with the longest values', async () => {
    const metrics = createMetrics({
      maxRules: 500,
      maxHostnames: 1000,
      maxSources: 20,
      extraLabels: [],
      maxExtraLabelValues: 100,
      maxSeries: 5000,
      processMetrics: false,
    });
    // Every rule, source and hostname past the cap in bytes as written: quotes (2 bytes each),
    // backslashes, and 3-byte characters; more of each, and of their combinations, than the caps keep.
    const units = ['"', '\\', '€'];
    const long = (index: number) => `${index}`.padEnd(300, units[index % units.length]);
    let host = 0;
    for (let source = 0; source < 22; source += 1) {
      for (let rule = 0; rule < 550; rule += 1) {
        const alert = {
          rule: long(rule),
          priority: PRIORITIES[(rule + source) % PRIORITIES.length]!,
          source: long(source),
          hostname: long((host += 1)),
        };
        // Every other alert stamped a day ahead of its receipt: a clock-ahead series per source too.
        const timeMs = rule % 2 === 0 ? 0 : 9_007_199_254_740 + 86_400_000;
        metrics.recordAlert(makeStoredAlert(alert, { timeMs, receivedAtMs: 9_007_199_254_740 }));
      }
    }

    const text = await metrics.registry.metrics();

    const series = text.split('\n').filter((line) => line.startsWith('falco_alerts_total{'));
    expect(series).toHaveLength(5000);
    // Each count here is 1 digit; a count can have 16.
    const room = 15;
    const longest = Math.max(...series.map((line) => Buffer.byteLength(line)));
    expect(longest + room).toBeLessThanOrEqual(480);
    const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(text).toContain('falco_alert_clock_ahead_seconds_count{source="__overflow__"}');
    expect(Buffer.byteLength(text) + room * samples.length).toBeLessThan(2_800_000);
  });
});

describe('alerts counted before a read', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reach prom-client at the read, not at the end of each turn', async () => {
    const metrics = createMetrics(base);
    const add = vi.spyOn(ExactCounter.prototype, 'add');
    metrics.recordAlert(makeStoredAlert({ rule: 'r1' }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(add).not.toHaveBeenCalled();
    expect(await metricValue(metrics.registry, 'falco_alerts_total', { rule: 'r1' })).toBe(1);
    expect(add).toHaveBeenCalledTimes(1);
  });

  it('reach it without a read once PENDING_MAX_ENTRIES series or hostnames wait', async () => {
    for (const label of ['rule', 'hostname'] as const) {
      const metrics = createMetrics({ ...base, maxRules: 5000, maxHostnames: 5000 });
      const add = vi.spyOn(ExactCounter.prototype, 'add');
      for (let i = 1; i < PENDING_MAX_ENTRIES; i++)
        metrics.recordAlert(makeStoredAlert({ [label]: `v${i}` }));
      expect(add).not.toHaveBeenCalled();
      metrics.recordAlert(makeStoredAlert({ [label]: 'last' }));
      expect(add).toHaveBeenCalled();
      const { values } = await metrics.registry.getSingleMetric('falco_alerts_total')!.get();
      expect(values.reduce((sum, v) => sum + v.value, 0)).toBe(PENDING_MAX_ENTRIES);
      vi.restoreAllMocks();
    }
  });

  it('reach it without a read once the waiting rule names and hostnames hold PENDING_MAX_CHARS characters', () => {
    const metrics = createMetrics({ ...base, maxRules: 5000 });
    const add = vi.spyOn(ExactCounter.prototype, 'add');
    metrics.recordAlert(makeStoredAlert({ rule: 'r'.repeat(PENDING_MAX_CHARS / 2) }));
    expect(add).not.toHaveBeenCalled();
    metrics.recordAlert(makeStoredAlert({ hostname: 'h'.repeat(PENDING_MAX_CHARS / 2) }));
    expect(add).toHaveBeenCalled();
  });
});
