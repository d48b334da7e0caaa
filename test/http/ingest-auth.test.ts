import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSAL_LOG_EVERY_MS } from '../../src/http/auth/refusal-lines.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const ALERT = readFileSync(
  join(import.meta.dirname, '../fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json'),
  'utf8',
);
const SECRET = 'k3Q9-sEcReT_path_0123456789';

describe('ingest behind a secret path segment (INGEST_PATH_SECRET)', () => {
  let receiver: TestReceiver;
  const post = (path: string) =>
    fetch(`http://127.0.0.1:${receiver.port}${path}`, {
      method: 'POST',
      body: ALERT,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sekret-token-123' },
    });

  beforeAll(async () => {
    receiver = await startReceiver({ pathSecret: SECRET });
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('accepts an alert posted to /alerts/<secret>', async () => {
    const response = await post(`/alerts/${SECRET}`);

    expect(response.status).toBe(202);
    const id = response.headers.get('x-alert-id');
    expect(receiver.logLines.some((line) => line.event === 'falco_alert' && line.alertId === id)).toBe(true);
  });

  it.each(['/alerts', '/', `/alerts/${SECRET}x`, `/alerts/${SECRET.slice(0, -1)}`])(
    'refuses %s with 401 problem+json and counts it',
    async (path) => {
      const before = await receiver.metricsText();
      const response = await post(path);

      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      const after = await receiver.metricsText();
      const count = (text: string) =>
        Number(/falco_ingest_unauthorized_total\{reason="path_secret"\} (\d+)/.exec(text)?.[1]);
      expect(count(after)).toBe(count(before) + 1);
      // The address names the sensor with the wrong URL.
      expect(receiver.logLines.filter((line) => line.event === 'ingest_unauthorized').at(-1)).toMatchObject({
        reason: 'path_secret',
        caller: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/),
      });
    },
  );

  it('never writes the secret or a bearer token into a log line or a metric label', async () => {
    await post(`/alerts/${SECRET}`);
    await post('/alerts/wrong-secret-value-000');

    expect(receiver.rawLog()).not.toContain(SECRET);
    expect(receiver.rawLog()).not.toContain('sekret-token-123');
    expect(await receiver.metricsText()).not.toContain(SECRET);
  });

  // Regression: a POST to a wrong path that holds the secret (a joined base URL's `//alerts/<secret>`,
  // a prefix) was logged as unknown_path with its path, secret and all.
  it.each([`//alerts/${SECRET}`, `/api/alerts/${SECRET}`, `/alerts/${SECRET}/x`])(
    'logs a POST to %s as unknown_path without the secret, and names the secret ingest path',
    async (path) => {
      const response = await post(path);

      expect(response.status).toBe(404);
      // Not "must end in /alerts": that path answers 401 here.
      expect(((await response.json()) as { detail: string }).detail).toContain(
        '/alerts/<INGEST_PATH_SECRET>',
      );
      const logged = receiver.logLines.filter((line) => line.reason === 'unknown_path').at(-1);
      expect(logged?.path).toBe(path.replace(SECRET, '[redacted]'));
      expect(receiver.rawLog()).not.toContain(SECRET);
    },
  );
});

describe('ingest_unauthorized lines of a sender that keeps being refused', () => {
  // Regression: a line per refused request, so a sensor with a wrong URL (or anyone reaching the
  // port) at R requests a second had R lines a second written.
  it('logs the first of 300 refusals at once and sums the rest into lines that add up to the metric', async () => {
    const receiver = await startReceiver({ pathSecret: SECRET });
    const refusedCount = async () =>
      Number(
        /falco_ingest_unauthorized_total\{reason="path_secret"\} (\d+)/.exec(
          await receiver.metricsText(),
        )?.[1],
      );
    const lines = () => receiver.logLines.filter((line) => line.event === 'ingest_unauthorized');
    const periodsSince = (started: number) => Math.ceil((performance.now() - started) / REFUSAL_LOG_EVERY_MS);
    const started = performance.now();
    try {
      for (let i = 0; i < 300; i += 1) {
        const response = await fetch(`http://127.0.0.1:${receiver.port}/alerts/wrong-${i % 3}`, {
          method: 'POST',
          body: ALERT,
          headers: { 'content-type': 'application/json' },
        });
        expect(response.status).toBe(401);
      }

      expect(await refusedCount()).toBe(300);
      // The first at once, then at most one a period; the first with the fields it always had.
      expect(lines().length).toBeLessThanOrEqual(1 + periodsSince(started));
      expect(lines()[0]).toMatchObject({
        level: 'warn',
        msg: 'ingest refused',
        reason: 'path_secret',
        caller: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/),
        count: 1,
        reqId: expect.any(String),
      });
    } finally {
      await receiver.close();
    }

    // The listener's close writes what the period held back.
    expect(lines().length).toBeLessThanOrEqual(2 + periodsSince(started));
    expect(lines().reduce((sum, line) => sum + Number(line.count), 0)).toBe(300);
    expect(receiver.rawLog()).not.toContain(SECRET);
  });
});

describe('unknown_path lines of a sender that keeps posting to a wrong path', () => {
  // Regression: with INGEST_PATH_SECRET, ingest_unauthorized was counted per kind, but a POST to any
  // other path (`/x`, `/alerts/<secret>/x`) still wrote an alert_rejected line per request, so anyone
  // reaching the port chose how many lines were written (300 requests, 300 lines).
  it('logs the first of 300 at once and sums the rest into lines that add up to the metric', async () => {
    const receiver = await startReceiver({ pathSecret: SECRET });
    const rejectedCount = async () =>
      Number(
        /falco_alerts_rejected_total\{reason="unknown_path"\} (\d+)/.exec(await receiver.metricsText())?.[1],
      );
    const lines = () => receiver.logLines.filter((line) => line.reason === 'unknown_path');
    const periodsSince = (started: number) => Math.ceil((performance.now() - started) / REFUSAL_LOG_EVERY_MS);
    const started = performance.now();
    try {
      for (let i = 0; i < 300; i += 1) {
        const response = await fetch(`http://127.0.0.1:${receiver.port}/alerts/${SECRET}/x`, {
          method: 'POST',
          body: ALERT,
          headers: { 'content-type': 'application/json' },
        });
        expect(response.status).toBe(404);
      }

      expect(await rejectedCount()).toBe(300);
      // The first at once with the fields it always had, then at most one a period.
      expect(lines()[0]).toMatchObject({
        level: 'warn',
        msg: 'alert rejected',
        event: 'alert_rejected',
        reason: 'unknown_path',
        status: 404,
        path: '/alerts/[redacted]/x',
        caller: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/),
        count: 1,
        reqId: expect.any(String),
      });
      expect(lines().length).toBeLessThanOrEqual(1 + periodsSince(started));
    } finally {
      await receiver.close();
    }

    // The listener's close writes what the period held back.
    expect(lines().length).toBeLessThanOrEqual(2 + periodsSince(started));
    expect(lines().reduce((sum, line) => sum + Number(line.count), 0)).toBe(300);
    expect(receiver.rawLog()).not.toContain(SECRET);
  });
});
