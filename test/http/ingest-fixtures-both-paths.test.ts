import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLosslessNumber, parse } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/start-server.js';
import { loadFalcoFixtures } from '../helpers/fixtures.js';
import { postAlertBody as post } from '../helpers/post-alert-body.js';
import { buildTestApp } from '../helpers/test-app.js';

// Falco ignores the status: a real shape refused on either ingest path is an alert lost unseen. A
// Content-Length body takes the node:http fast path, a chunked one the Express route (fast-ingest.ts);
// ingest.test.ts posts every fixture on the first only.
const PATHS = [
  ['the fast path', false],
  ['Express', true],
] as const;

const fixtures = [...loadFalcoFixtures('samples'), ...loadFalcoFixtures('own')];
const cases = (verdict: 'accept' | 'reject') =>
  fixtures
    .filter((f) => f.expect === verdict && f.file.endsWith('.json'))
    .flatMap((f) => PATHS.map(([path, chunked]) => [f.file, path, f, chunked] as const));

// Every number as its literal, so 19-digit integers compare digit for digit; one beyond a double's
// range as the null it is stored as (parse-json.ts).
const exactText = (value: unknown) =>
  JSON.stringify(value, (_key, item: unknown) => {
    if (!isLosslessNumber(item)) return item;
    return Number.isFinite(Number(item.value)) ? item.value : null;
  });

describe('POST /alerts with every fixture on both ingest paths', () => {
  const built = buildTestApp();
  let server: http.Server;
  let base: string;
  let port: number;

  beforeAll(async () => {
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const total = async (name: string) => {
    const { values } = await built.metrics.registry.getSingleMetric(name)!.get();
    return values.reduce((sum, v) => sum + v.value, 0);
  };

  it.each(cases('accept'))(
    'accepts %s through %s, counts it once and serves back every value as sent',
    async (_file, _path, fixture, chunked) => {
      const counted = await total('falco_alerts_total');

      const res = await post(port, fixture.body, chunked);

      expect(res.status, res.body).toBe(202);
      expect((await total('falco_alerts_total')) - counted).toBe(1);
      const served = await fetch(`${base}/alerts/${String(res.headers['x-alert-id'])}`);
      expect(served.status).toBe(200);
      const entry = parse(await served.text()) as { source: string; alert: unknown };
      expect(entry.source).toBe(fixture.source ?? 'internal');
      // As decoded on receipt: invalid UTF-8 as U+FFFD, a leading byte order mark dropped.
      const sent = parse(fixture.body.toString('utf8').replace(/^\uFEFF/, ''));
      expect(exactText(entry.alert)).toBe(exactText(sent));
    },
  );

  it.each(cases('reject'))(
    'refuses %s through %s with a counted 400 problem naming its field, storing nothing',
    async (_file, _path, fixture, chunked) => {
      const [refused, stored] = [await total('falco_alerts_rejected_total'), await built.store.count()];

      const res = await post(port, fixture.body, chunked);

      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = JSON.parse(res.body) as { status: number; errors: { pointer: string }[] };
      expect(problem.status).toBe(400);
      expect(problem.errors.length).toBeGreaterThan(0);
      if (fixture.pointer !== undefined)
        expect(problem.errors.map((e) => e.pointer)).toContain(fixture.pointer);
      expect((await total('falco_alerts_rejected_total')) - refused).toBe(1);
      expect(await built.store.count()).toBe(stored);
    },
  );
});
