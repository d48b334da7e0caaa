import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { loadFalcoSamples, postFalcoSample } from './support/falco-samples.js';
import { startPrometheus, type PrometheusServer } from './support/prometheus-server.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const prometheusReady = requireComponent('prometheus', commandWorks('prometheus', ['--version']));
const JOB = 'falco-alert-receiver';

/** Re-runs `read` until it returns `expected` or the time is up; returns the last value read. */
async function pollUntil<T>(read: () => Promise<T>, expected: T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (last !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    last = await read();
  }
  return last;
}

describe.skipIf(!prometheusReady)('Prometheus scraping the running service', () => {
  let service: ServiceProcess;
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    service = await startServiceProcess();
    prometheus = await startPrometheus(`127.0.0.1:${service.port}`, JOB);
  });
  afterAll(async () => {
    await prometheus?.stop();
    await service?.stop();
  });

  it('returns N for falco_alerts_total of rule R and priority P after N such alerts', async () => {
    const template = loadFalcoSamples().find((sample) => sample.file.includes('095-'));
    if (!template) throw new Error('sample 095 missing');
    // A rule name no other test posts, so the series starts at this test's alerts.
    const rule = `Integration canary ${randomUUID().slice(0, 8)}`;
    const priority = 'Critical';
    const alerts = 3;
    const body = JSON.stringify({ ...JSON.parse(template.body), rule, priority });

    for (let i = 0; i < alerts; i += 1) {
      expect(await postFalcoSample(`${service.baseUrl}/alerts`, { ...template, body })).toBe(202);
    }
    const promql = `sum(falco_alerts_total{job="${JOB}",rule="${rule}",priority="${priority}"})`;
    // Target discovery syncs every 5 s, so the first scrape can take a while.
    const counted = await pollUntil(async () => (await prometheus.query(promql))[0]?.value, alerts, 20_000);

    expect(counted).toBe(alerts);
  }, 30_000);

  // Alert text is the attacker's: what /metrics escapes or replaces must reach PromQL as one label
  // value each, not a parse error that fails the whole scrape.
  it('reads back rule names with quotes, backslashes, a line break, a lone surrogate and 300 euro signs as /metrics writes them', async () => {
    const template = loadFalcoSamples().find((sample) => sample.file.includes('095-'));
    if (!template) throw new Error('sample 095 missing');
    const tag = `Hostile ${randomUUID().slice(0, 8)}`;
    // Sent as each rule, and the label value README says /metrics writes for it.
    const rules: Array<[string, string]> = [
      [`${tag} "q" \\b\\`, `${tag} "q" \\b\\`],
      [`${tag}\nline`, `${tag}\uFFFDline`],
      [`${tag} \uD800`, `${tag} \uFFFD`],
      // Cut at 200 bytes as written: the tag's 17 bytes and 61 three-byte characters.
      [`${tag} ${'€'.repeat(300)}`, `${tag} ${'€'.repeat(61)}`],
    ];
    for (const [rule] of rules) {
      const body = JSON.stringify({ ...JSON.parse(template.body), rule, priority: 'Notice' });
      expect(await postFalcoSample(`${service.baseUrl}/alerts`, { ...template, body })).toBe(202);
    }
    const promql = `falco_alerts_total{job="${JOB}",rule=~"${tag}.*"}`;
    const read = async () =>
      (await prometheus.query(promql))
        .map(({ metric, value }) => `${metric.rule} ${value}`)
        .sort()
        .join('\n');
    const expected = rules
      .map(([, label]) => `${label} 1`)
      .sort()
      .join('\n');

    expect(await pollUntil(read, expected, 20_000)).toBe(expected);
  }, 30_000);

  it('sees the receiver target up', async () => {
    const up = await pollUntil(async () => (await prometheus.query(`up{job="${JOB}"}`))[0]?.value, 1, 20_000);

    expect(up).toBe(1);
  }, 30_000);
});
