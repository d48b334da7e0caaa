import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIORITIES } from '../../src/alerts/priority.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { postPipelined } from '../helpers/pipelined-posts.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';

const TIME = '2026-11-30T12:00:00.000000000Z';

// Every combination of rules x priorities x sources, each within its own label cap.
function* combinations(
  rules: number,
  sources: number,
): Generator<{ rule: string; priority: string; source: string }> {
  for (let rule = 0; rule < rules; rule++)
    for (const priority of PRIORITIES)
      for (let source = 0; source < sources; source++)
        yield { rule: `rule-${rule}`, priority, source: `source-${source}` };
}

const seriesLines = (text: string) =>
  text.split('\n').filter((line) => line.startsWith('falco_alerts_total{'));
const overflowCount = (text: string) =>
  Number(/falco_metrics_series_overflow_total\{metric="falco_alerts_total"\} (\d+)/.exec(text)?.[1]);

// Regression (issue 18.3): each label was capped, their product was not: 500 rules x 8 priorities
// x 20 sources gave 80,000 series and a 17.5 MB /metrics.
describe('falco_alerts_total under a label-product attack', () => {
  let receiver: TestReceiver;
  const maxSeries = 400;
  beforeAll(async () => {
    receiver = await startReceiver({
      keepLogLines: false,
      env: {
        METRICS_MAX_RULES: '500',
        METRICS_MAX_SOURCES: '20',
        METRICS_MAX_SERIES: String(maxSeries),
        // Pipelined requests are each in flight until answered: 200 at once from one address.
        INGEST_MAX_INFLIGHT_PER_ADDRESS: '1000',
      },
    });
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it(
    'keeps at most METRICS_MAX_SERIES series over HTTP and counts every overflowed alert',
    { timeout: 60_000 },
    async () => {
      // 100 x 8 x 4 = 3,200 alerts, 3,200 distinct label sets: 8 times the cap (the full attack is below).
      const bodies = [...combinations(100, 4)].map((labels) =>
        JSON.stringify({ ...labels, time: TIME, output: 'x' }),
      );
      const statuses = await postPipelined(receiver.port, bodies, 200);

      const text = await receiver.metricsText();
      const series = seriesLines(text);
      expect(statuses).toEqual({ 202: bodies.length });
      expect(series.length).toBeLessThanOrEqual(maxSeries);
      expect(series.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0)).toBe(bodies.length);
      expect(overflowCount(text)).toBe(bodies.length - (maxSeries - PRIORITIES.length));
      expect(series.filter((line) => line.includes('rule="__overflow__"'))).toHaveLength(PRIORITIES.length);
    },
  );

  it('keeps /metrics under 2 MB through all 80,000 combinations of 500 x 8 x 20 with the default cap', async () => {
    const loaded = loadConfig({ METRICS_MAX_RULES: '500', METRICS_MAX_SOURCES: '20' });
    if (!loaded.ok) throw new Error(loaded.problems.join('; '));
    const metrics = createMetrics({ ...loaded.config.metrics, processMetrics: false });
    let alerts = 0;
    for (const labels of combinations(500, 20)) {
      metrics.recordAlert(makeStoredAlert({ ...labels, priority: labels.priority as never }));
      alerts += 1;
    }

    const text = await metrics.registry.metrics();
    expect(alerts).toBe(80_000);
    expect(seriesLines(text).length).toBeLessThanOrEqual(loaded.config.metrics.maxSeries);
    expect(overflowCount(text)).toBe(80_000 - (loaded.config.metrics.maxSeries - PRIORITIES.length));
    expect(Buffer.byteLength(text)).toBeLessThan(2 * 1024 * 1024);
  });
});
