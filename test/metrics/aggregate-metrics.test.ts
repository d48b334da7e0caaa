import { describe, expect, it } from 'vitest';
import { aggregateMetrics } from '../../src/metrics/aggregate-metrics.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { createWorkerMetrics, samples, sentToPrimary } from '../helpers/worker-metrics.js';

async function aggregated(workers: Metrics[]): Promise<string> {
  return aggregateMetrics(await Promise.all(workers.map(sentToPrimary))).metrics();
}

describe('aggregateMetrics', () => {
  // Regression (review): prom-client's AggregatorRegistry matches series by their label values
  // joined unescaped, and summed these two into one, shown under the first one's labels.
  it("keeps the workers' series whose labels prom-client would key alike apart, each summed over the workers", async () => {
    const [one, two] = [createWorkerMetrics(), createWorkerMetrics()];
    one.recordAlert(makeStoredAlert({ rule: 'A,source:B', source: 'C' }));
    one.recordAlert(makeStoredAlert({ rule: 'A', source: 'B,source:C' }));
    two.recordAlert(makeStoredAlert({ rule: 'A', source: 'B,source:C' }));
    two.recordAlert(makeStoredAlert({ rule: 'A', source: 'B,source:C' }));

    const text = await aggregated([one!, two!]);

    expect(samples(text, 'falco_alerts_total{')).toEqual([
      'falco_alerts_total{rule="A",priority="Notice",source="B,source:C"} 3',
      'falco_alerts_total{rule="A,source:B",priority="Notice",source="C"} 1',
    ]);
  });

  it('combines each metric by its own aggregator: counters and histograms summed, the sensor gauge by its newest', async () => {
    const [one, two] = [createWorkerMetrics(), createWorkerMetrics()];
    one.recordAlert(makeStoredAlert({ hostname: 'h' }, { receivedAtMs: 5_000, timeMs: 4_000 }));
    two.recordAlert(makeStoredAlert({ hostname: 'h' }, { receivedAtMs: 9_000, timeMs: 8_500 }));
    two.recordRejected('malformed_json');

    const text = await aggregated([one!, two!]);

    expect(samples(text, 'falco_sensor_last_alert_timestamp_seconds{')).toEqual([
      'falco_sensor_last_alert_timestamp_seconds{hostname="h"} 9',
    ]);
    expect(samples(text, 'falco_alert_delivery_delay_seconds_')).toEqual(
      expect.arrayContaining([
        'falco_alert_delivery_delay_seconds_bucket{le="0.5",source="syscall"} 1',
        'falco_alert_delivery_delay_seconds_bucket{le="1",source="syscall"} 2',
        'falco_alert_delivery_delay_seconds_count{source="syscall"} 2',
        'falco_alert_delivery_delay_seconds_sum{source="syscall"} 1.5',
      ]),
    );
    expect(samples(text, 'falco_alerts_rejected_total{reason="malformed_json"}')).toEqual([
      'falco_alerts_rejected_total{reason="malformed_json"} 1',
    ]);
    expect(samples(text, 'falco_alerts_total{')).toEqual([
      'falco_alerts_total{rule="Terminal shell in container",priority="Notice",source="syscall"} 2',
    ]);
  });
});
