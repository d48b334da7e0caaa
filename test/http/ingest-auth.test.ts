import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
