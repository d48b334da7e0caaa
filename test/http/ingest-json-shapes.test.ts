import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/start-server.js';
import { postAlertBody as post } from '../helpers/post-alert-body.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';

type Built = ReturnType<typeof buildTestApp>;

// Every series of a counter added up (rejections by reason, alerts by rule and priority).
async function total(built: Built, name: string): Promise<number> {
  const metric = built.metrics.registry.getSingleMetric(name);
  const { values } = await metric!.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

// Regression (issue 18 point 2): `"x":[0,0,... 300000 zeros]` under an unknown key answered 500
// (RangeError from a spread into Array#push). Any JSON value under the body cap, of any size or
// shape, must answer 202 or a counted 4xx, on the node:http fast path and on the Express route.

const ALERT_HEAD = '{"rule":"r","priority":"Alert","time":"2024-01-01T00:00:00.000000000Z"';
const BODY_LIMIT = 1024 * 1024;

const repeat = (item: string, count: number) => new Array<string>(count).fill(item).join(',');
const deep = (depth: number, open: string, close: string, leaf: string) =>
  open.repeat(depth) + leaf + close.repeat(depth);

/** Bodies that each put one extreme value somewhere an attacker can put it. */
const SHAPES: Record<string, string> = {
  'a wide list under an unknown key': `${ALERT_HEAD},"x":[${repeat('0', 300_000)}]}`,
  'a wide object under an unknown key': `${ALERT_HEAD},"x":{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":0`).join(',')}}}`,
  'many unknown top-level keys': `${ALERT_HEAD},${Array.from({ length: 50_000 }, (_, i) => `"k${i}":0`).join(',')}}`,
  'a deep list under an unknown key': `${ALERT_HEAD},"x":${deep(200_000, '[', ']', '0')}}`,
  'a deep object under an unknown key': `${ALERT_HEAD},"x":${deep(60_000, '{"a":', '}', '0')}}`,
  'a wide list of deep lists under an unknown key': `${ALERT_HEAD},"x":[${repeat(deep(30, '[', ']', '0'), 8_000)}]}`,
  'a wide list as output_fields value': `${ALERT_HEAD},"output_fields":{"a":[${repeat('1', 300_000)}]}}`,
  'a wide list of objects as output_fields value': `${ALERT_HEAD},"output_fields":{"a":[${repeat('{}', 200_000)}]}}`,
  'a deep value as output_fields value': `${ALERT_HEAD},"output_fields":{"a":${deep(200_000, '[', ']', '0')}}}`,
  'wide tags': `${ALERT_HEAD},"tags":[${repeat('"t"', 200_000)}]}`,
  'tags holding deep lists': `${ALERT_HEAD},"tags":[${repeat(deep(20, '[', ']', '0'), 10_000)}]}`,
  'a wide list as the rule': `{"rule":[${repeat('0', 300_000)}],"priority":"Alert","time":"2024-01-01T00:00:00Z"}`,
  'a deep list as the whole body': deep(400_000, '[', ']', '0'),
  'a wide list as the whole body': `[${repeat('0', 400_000)}]`,
};

describe('POST /alerts with JSON values of any size and shape under the body cap', () => {
  const built = buildTestApp();
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const cases = Object.entries(SHAPES).flatMap(([name, text]) =>
    [false, true].map((chunked) => ({ name, text, chunked, path: chunked ? 'Express' : 'fast path' })),
  );

  it.each(cases)('answers $name with 202 or a counted 4xx ($path)', async ({ text, chunked }) => {
    const body = Buffer.from(text);
    expect(body.length).toBeLessThanOrEqual(BODY_LIMIT);
    const rejectedBefore = await total(built, 'falco_alerts_rejected_total');
    const acceptedBefore = await total(built, 'falco_alerts_total');

    const answer = await post(port, body, chunked);

    expect(answer.status === 202 || (answer.status >= 400 && answer.status < 500)).toBe(true);
    const rejected = (await total(built, 'falco_alerts_rejected_total')) - rejectedBefore;
    const accepted = (await total(built, 'falco_alerts_total')) - acceptedBefore;
    if (answer.status === 202) {
      expect(accepted).toBe(1);
    } else {
      expect(rejected).toBe(1);
      const problem = JSON.parse(answer.body) as { status: number; detail: string };
      expect(problem.status).toBe(answer.status);
      expect(problem.detail.length).toBeGreaterThan(0);
    }
  });

  it('refuses the issue\'s 300,000-zero list under "x" as invalid_alert naming the unknown keys', async () => {
    const before = await metricValue(built.metrics.registry, 'falco_alerts_rejected_total', {
      reason: 'invalid_alert',
    });

    const answer = await post(port, Buffer.from(SHAPES['a wide list under an unknown key']!), false);

    expect(answer.status).toBe(400);
    expect(answer.body).toContain('unknown top-level keys may hold at most');
    const after = await metricValue(built.metrics.registry, 'falco_alerts_rejected_total', {
      reason: 'invalid_alert',
    });
    expect(after - before).toBe(1);
  });

  it('still accepts an alert whose unknown keys hold a few values', async () => {
    const answer = await post(
      port,
      Buffer.from(`${ALERT_HEAD},"uuid":"u-1","extra":[1,[2,{"a":3}]]}`),
      false,
    );
    expect(answer.status).toBe(202);
  });
});
