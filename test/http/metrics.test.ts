import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { PRIORITIES } from '../../src/alerts/priority.js';
import { METRICS_REUSE_MS } from '../../src/http/routes/metrics.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { buildTestApp } from '../helpers/test-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const scrape = (app: Parameters<typeof request>[0]) => request(app).get('/metrics');

describe('GET /metrics', () => {
  // Regression (security review): every scrape rendered on its own, so 10 parallel scrapes of
  // labels full of escaped characters held the loop 2.16 s.
  it('renders once for ten scrapes that arrive together', async () => {
    const { app, metrics } = buildTestApp();
    // Counted at prom-client's registry, which every render goes through (calls through to it).
    const renders = vi.spyOn(metrics.registry, 'metrics');
    for (let rule = 0; rule < 100; rule += 1) {
      for (const priority of PRIORITIES) {
        metrics.recordAlert(makeStoredAlert({ rule: `${rule}`.padEnd(300, '"'), priority }));
      }
    }
    const one = await scrape(app);
    await sleep(METRICS_REUSE_MS);
    metrics.recordAlert(makeStoredAlert({ rule: 'After the single scrape' }));
    const rendersBefore = renders.mock.calls.length;

    const ten = await Promise.all(Array.from({ length: 10 }, () => request(app).head('/metrics')));
    const bodies = await Promise.all(Array.from({ length: 10 }, () => scrape(app)));

    expect([one, ...ten, ...bodies].map((res) => res.status)).toEqual(Array(21).fill(200));
    expect(rendersBefore).toBe(1);
    // The ten at once, and the ten reads within METRICS_REUSE_MS after, got one render.
    expect(renders.mock.calls.length - rendersBefore).toBe(1);
    for (const res of bodies) expect(res.text).toBe(bodies[0]!.text);
    // Made after the alert recorded since the single scrape.
    expect(bodies[0]!.text).toContain('rule="After the single scrape"');
    expect(one.text).not.toContain('rule="After the single scrape"');
  });

  // Regression (review): prom-client keys a series by its label values joined unescaped, so an
  // alert could choose its rule and source to add its count to another alert's series, or hide its own.
  it('keeps two alerts whose labels prom-client would key alike as two series, each with its own labels and count', async () => {
    const { app } = buildTestApp();
    const post = (rule: string, source: string) =>
      request(app)
        .post('/alerts')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ rule, source, priority: 'Warning', time: new Date().toISOString() }));
    expect((await post('A,source:B', 'C')).status).toBe(202);
    for (let i = 0; i < 2; i += 1) expect((await post('A', 'B,source:C')).status).toBe(202);

    const { text } = await scrape(app);

    const series = text.split('\n').filter((line) => line.startsWith('falco_alerts_total{'));
    expect(series.sort()).toEqual([
      'falco_alerts_total{rule="A",priority="Warning",source="B,source:C"} 2',
      'falco_alerts_total{rule="A,source:B",priority="Warning",source="C"} 1',
    ]);
  });

  it('serves the ADMIN_PORT listener from the same render as the ingest one, for up to a second', async () => {
    const { app, adminApp, metrics } = buildTestApp({ env: { ADMIN_PORT: '0' } });
    const first = await scrape(app);
    metrics.recordAlert(makeStoredAlert({ rule: 'Between two scrapes' }));

    const admin = await scrape(adminApp!);

    expect(admin.status).toBe(200);
    expect(admin.text).toBe(first.text);
    await sleep(METRICS_REUSE_MS);
    expect((await scrape(adminApp!)).text).toContain('rule="Between two scrapes"');
  });
});
