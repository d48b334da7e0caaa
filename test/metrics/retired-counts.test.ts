import { describe, expect, it } from 'vitest';
import { aggregateMetrics, type MetricJson } from '../../src/metrics/aggregate-metrics.js';
import { addRetiredCounts } from '../../src/metrics/retired-counts.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { createWorkerMetrics, samples, sentToPrimary } from '../helpers/worker-metrics.js';

// A departed worker that counted one alert of each of these rules (and sources).
async function departed(names: string[]): Promise<MetricJson[]> {
  const worker = createWorkerMetrics();
  for (const name of names) worker.recordAlert(makeStoredAlert({ rule: name, source: name }));
  return sentToPrimary(worker);
}

describe('addRetiredCounts', () => {
  it('adds the counts of the same label sets together, by their exact labels', async () => {
    const limits = { maxSets: () => 5000, live: [] };
    const retired = addRetiredCounts(
      addRetiredCounts([], await departed(['a']), limits),
      await departed(['a']),
      limits,
    );

    const text = await aggregateMetrics([retired]).metrics();

    expect(samples(text, 'falco_alerts_total{')).toEqual([
      'falco_alerts_total{rule="a",priority="Notice",source="a"} 2',
    ]);
    expect(samples(text, 'falco_alert_delivery_delay_seconds_count')).toEqual([
      'falco_alert_delivery_delay_seconds_count{source="a"} 2',
    ]);
  });

  // Workers that come and go, each with other label values, must not grow the primary's memory.
  it('keeps no more label sets of a metric than its bound, and adds the rest into __overflow__', async () => {
    let retired: MetricJson[] = [];
    for (const names of [
      ['a', 'b', 'c'],
      ['d', 'e'],
      ['f', 'g', 'h'],
    ])
      retired = addRetiredCounts(retired, await departed(names), { maxSets: () => 2, live: [] });

    const text = await aggregateMetrics([retired]).metrics();

    expect(samples(text, 'falco_alerts_total{')).toEqual([
      'falco_alerts_total{rule="__overflow__",priority="__overflow__",source="__overflow__"} 5',
      'falco_alerts_total{rule="a",priority="Notice",source="a"} 1',
      'falco_alerts_total{rule="b",priority="Notice",source="b"} 1',
      'falco_alerts_total{rule="c",priority="Notice",source="c"} 1',
    ]);
    // A histogram's buckets stay buckets: only the labels but `le` overflow.
    expect(
      samples(text, 'falco_alert_delivery_delay_seconds_bucket{le="+Inf",source="__overflow__"}'),
    ).toEqual(['falco_alert_delivery_delay_seconds_bucket{le="+Inf",source="__overflow__"} 5']);
    expect(samples(text, 'falco_alert_delivery_delay_seconds_count')).toHaveLength(4);
  });

  // Review: worker 1 left with {a, b}; worker 2 held {c: 7}, the live worker 3 {c: 3}. Folding
  // worker 2's c into __overflow__ made falco_alerts_total{rule="c"} fall from 10 to 3: a reset.
  it('never folds a label set a live worker reports, so its series does not fall', async () => {
    const live = [await departed(['c'])];
    let retired = addRetiredCounts([], await departed(['a', 'b']), { maxSets: () => 2, live });
    retired = addRetiredCounts(retired, await departed(['c', 'd']), { maxSets: () => 2, live });

    const text = await aggregateMetrics([retired, ...live]).metrics();

    expect(samples(text, 'falco_alerts_total{')).toEqual([
      'falco_alerts_total{rule="__overflow__",priority="__overflow__",source="__overflow__"} 1',
      'falco_alerts_total{rule="a",priority="Notice",source="a"} 1',
      'falco_alerts_total{rule="b",priority="Notice",source="b"} 1',
      'falco_alerts_total{rule="c",priority="Notice",source="c"} 2',
    ]);
  });
});
