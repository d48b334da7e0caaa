import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { logPendingDrops } from '../../src/store/log-pending-drops.js';
import { createStoreMetrics } from '../../src/store/store-metrics.js';
import { metricValue } from '../helpers/test-app.js';

function dropsLogged() {
  const lines: Array<{ event: string; count: number; oldestAlertId: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const registry = new Registry();
  const metrics = createStoreMetrics(registry, { isUp: () => false, pending: () => 0 });
  const counted = () => metricValue(registry, 'falco_store_pending_dropped_total');
  return { drops: logPendingDrops(metrics, logger), lines, counted };
}

const sum = (lines: Array<{ count: number }>) => lines.reduce((total, line) => total + line.count, 0);

describe('logPendingDrops', () => {
  // Regression: in a 20 s outage with STORE_PENDING_MAX=500 the metric said 4,703 dropped and the
  // lines added up to 4,001: what came after the last 1000 was never logged.
  it('logs the first drop of an outage, a line per 1000, and the rest once written up: the lines add up to the metric', async () => {
    const { drops, lines, counted } = dropsLogged();
    for (let i = 0; i < 4_703; i++) drops.dropped(1, `id-${i}`);
    drops.writtenUp();

    expect(lines.map((line) => line.count)).toEqual([1, 1000, 1000, 1000, 1000, 702]);
    expect(lines.map((line) => line.oldestAlertId)).toEqual([
      'id-0',
      'id-1',
      'id-1001',
      'id-2001',
      'id-3001',
      'id-4001',
    ]);
    expect(sum(lines)).toBe(await counted());
  });

  it('starts the next outage on its own count, and logs the rest when the store closes', async () => {
    const { drops, lines, counted } = dropsLogged();
    drops.dropped(3, 'a');
    drops.dropped(2, 'b');
    drops.writtenUp();
    drops.dropped(4, 'c');
    drops.dropped(6, 'd');
    drops.flush();

    expect(lines.map((line) => [line.count, line.oldestAlertId])).toEqual([
      [3, 'a'],
      [2, 'b'],
      [4, 'c'],
      [6, 'd'],
    ]);
    expect(sum(lines)).toBe(await counted());
  });
});
