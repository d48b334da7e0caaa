import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLoad } from '../helpers/load-generator.js';
import { buildService, killSpawned, spawnService } from '../helpers/spawn-service.js';

const ALERT = readFileSync(
  join(import.meta.dirname, '../fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json'),
  'utf8',
);

const waitFor = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
};

function loggedAlertIds(lines: Array<Record<string, unknown>>): Set<string> {
  return new Set(lines.filter((line) => line.event === 'falco_alert').map((line) => String(line.alertId)));
}

function sumAlertsTotal(metrics: string): number {
  return metrics
    .split('\n')
    .filter((line) => line.startsWith('falco_alerts_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('SIGTERM while alerts are being posted', () => {
  let main: string;
  beforeAll(async () => {
    main = await buildService('shutdown');
  });
  afterEach(killSpawned);

  it('logs every alert that got a 2xx, refuses nothing with a 5xx, and exits 0 within its deadline', async () => {
    const service = await spawnService({ SHUTDOWN_TIMEOUT_MS: '5000' }, { main });
    const load = startLoad(service.port, ALERT);
    await waitFor(() => load.accepted() >= 200);

    service.child.kill('SIGTERM');
    const code = await service.exited;
    const result = await load.stop();

    // Exit 0 means shutdownGracefully drained before SHUTDOWN_TIMEOUT_MS (a timeout exits 1).
    expect(code).toBe(0);
    expect(Object.keys(result.statuses).filter((status) => Number(status) >= 300)).toEqual([]);
    const logged = loggedAlertIds(service.lines);
    expect(result.acceptedIds.filter((id) => !logged.has(id))).toEqual([]);
    expect(result.acceptedIds.length).toBeGreaterThanOrEqual(200);
    expect(service.lines.at(-1)).toMatchObject({ event: 'shutdown_complete', drained: true });
  });

  it('keeps counting in /metrics during the shutdown delay, so a last scrape matches every 2xx', async () => {
    const service = await spawnService({ SHUTDOWN_DELAY_MS: '2000', SHUTDOWN_TIMEOUT_MS: '5000' }, { main });
    const load = startLoad(service.port, ALERT);
    await waitFor(() => load.accepted() >= 100);

    service.child.kill('SIGTERM');
    await waitFor(() => service.lines.some((line) => line.event === 'shutdown_started'));
    const acceptedAtSignal = load.accepted();
    await waitFor(() => load.accepted() >= acceptedAtSignal + 50);
    const result = await load.stop();
    const readiness = await fetch(`http://127.0.0.1:${service.port}/readyz`);
    const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    const code = await service.exited;

    expect(readiness.status).toBe(503);
    expect(sumAlertsTotal(metrics)).toBe(result.acceptedIds.length);
    expect(code).toBe(0);
    const logged = loggedAlertIds(service.lines);
    expect(result.acceptedIds.filter((id) => !logged.has(id))).toEqual([]);
    expect(result.errors).toEqual({});
  });
});
