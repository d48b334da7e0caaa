import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { workerPids } from '../helpers/cluster-workers.js';
import { requestOnNewConnection as request } from '../helpers/fresh-connection-request.js';
import { freePort } from '../helpers/redis-server.js';
import { killSpawned, spawnService, type SpawnedService } from '../helpers/spawn-service.js';
import { METRICS_REUSE_MS } from '../../src/http/routes/metrics.js';

const WORKERS = 2;
const ROUNDS = 6;
// Each worker keeps one source and one hostname of its own, and __overflow__ for the rest.
const PER_WORKER = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const alert = (source: string) =>
  JSON.stringify({
    rule: 'Bounds',
    priority: 'Notice',
    source,
    hostname: source,
    time: new Date().toISOString(),
  });

/** The lines of `metrics` that start with `prefix`. */
const lines = (metrics: string, prefix: string) =>
  metrics.split('\n').filter((line) => line.startsWith(prefix));
const total = (found: string[]) =>
  found.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

// Regression (metrics review): the primary kept METRICS_MAX_SERIES (5,000) label sets of every
// metric for the workers gone, so workers replaced one after another, each with other sources or
// hostnames (an alert's text chooses them), grew the pod's falco_alert_delivery_delay_seconds to
// 5,000 sources of 16 lines each, 250 times what one worker may have: a /metrics of tens of MB.
describe('cluster mode when workers with other sources and hostnames are replaced one after another', () => {
  let service: SpawnedService;
  let metrics = '';
  let posted = 0;
  const listening = () => service.lines.filter((l) => l.event === 'listening').length;

  beforeAll(async () => {
    service = await spawnService(
      {
        PORT: String(await freePort()),
        WORKERS: String(WORKERS),
        METRICS_MAX_SOURCES: '1',
        METRICS_MAX_HOSTNAMES: '1',
        METRICS_MAX_SERIES: '16',
      },
      { timeoutMs: 60_000 },
    );
    await vi.waitFor(() => expect(listening()).toBe(WORKERS), { timeout: 60_000, interval: 50 });
    for (let round = 0; round < ROUNDS; round++) {
      // New connections: node:cluster hands them to the workers in turn.
      for (let i = 0; i < 4; i++) {
        expect((await request(service.port, 'POST', '/alerts', alert(`s${round}-${i}`))).status).toBe(202);
        posted++;
      }
      // A scrape collects both workers, so the one killed next leaves every alert it counted.
      await sleep(METRICS_REUSE_MS + 100);
      expect((await request(service.port, 'GET', '/metrics')).status).toBe(200);
      process.kill(workerPids(service.child)[0]!, 'SIGKILL');
      await vi.waitFor(() => expect(listening()).toBe(WORKERS + round + 1), {
        timeout: 60_000,
        interval: 50,
      });
    }
    await sleep(METRICS_REUSE_MS + 100);
    metrics = (await request(service.port, 'GET', '/metrics')).body;
  }, 180_000);

  afterAll(killSpawned);

  it("shows no more sources and hostnames than the live workers' and one worker's more", () => {
    const bound = (WORKERS + 1) * PER_WORKER;
    expect(lines(metrics, 'falco_alert_delivery_delay_seconds_count{').length).toBeLessThanOrEqual(bound);
    expect(lines(metrics, 'falco_alert_clock_ahead_seconds_count{').length).toBeLessThanOrEqual(bound);
    expect(lines(metrics, 'falco_sensor_last_alert_timestamp_seconds{').length).toBeLessThanOrEqual(bound);
  });

  it('still counts every alert the departed workers counted', () => {
    expect(total(lines(metrics, 'falco_alert_delivery_delay_seconds_count{'))).toBe(posted);
    expect(total(lines(metrics, 'falco_alerts_total{'))).toBe(posted);
  });
});
