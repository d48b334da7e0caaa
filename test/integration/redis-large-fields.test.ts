import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { buildService, killSpawned, spawnService, type SpawnedService } from '../helpers/spawn-service.js';

const hasRedis = redisAvailable();
const ALERTS = 720;
// 100 KB rule names: each alert's fields entry held one, so every list and count read 72 MB.
const RULE = `Rule-${'r'.repeat(100_000)}`;
// The container's heap (k8s resources) and the image's flags (Dockerfile).
const NODE_FLAGS = [
  '--max-old-space-size=128',
  '--max-semi-space-size=8',
  '--no-allocation-site-pretenuring',
  '--initial-old-space-size=32',
  '--no-incremental-marking-task',
];

// A GET from one loopback address; resolves with the status and body.
function get(port: number, path: string, localAddress = '127.0.0.1') {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}

// Regression: the shared store's reads grew with the size of the alerts' fields, not their count.
// With 720 alerts of 100 KB rule names (the lab Redis at 256 MB keeps about that many), three
// summary windows at once ran the 128 MB heap out of memory, and so did 32 empty-result lists at
// once in 2 runs of 3 (in the third, their replies queued on the link past its 2 s deadline and
// every read was refused as the store being down).
describe.skipIf(!hasRedis)('replicas reading alerts with 100 KB rule names under a 128 MB heap', () => {
  let redis: TestRedis;
  let main: string;
  // A replica of its own for each test, on the same Redis: one that ran out of memory takes no other test with it.
  const startReplica = () =>
    spawnService(
      { STORE_URL: redis.url, STORE_KEY_PREFIX: 'large' },
      { main: [...NODE_FLAGS, main], keepLine: (raw) => !raw.includes('"event":"falco_alert"') },
    );
  beforeAll(async () => {
    redis = await startRedis({ extraArgs: ['--maxmemory', '256mb', '--maxmemory-policy', 'noeviction'] });
    main = await buildService('redis-large-fields');
    const { port } = await startReplica();
    let next = 0;
    const post = async () => {
      for (let index = next++; index < ALERTS; index = next++) {
        const body = JSON.stringify({
          rule: RULE,
          priority: 'Notice',
          time: new Date().toISOString(),
          output: `x ${index}`,
        });
        const res = await fetch(`http://127.0.0.1:${port}/alerts`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body,
        });
        expect(res.status).toBe(202);
      }
    };
    await Promise.all(Array.from({ length: 4 }, post));
  }, 120_000);
  afterAll(async () => {
    killSpawned();
    await redis?.stop();
  });

  // Up, and listing the newest alert with its whole rule (which does not fit in a request line as a filter).
  async function expectServing(service: SpawnedService): Promise<void> {
    const listed = await get(service.port, '/alerts?min_priority=Notice&limit=1');
    expect(service.child.exitCode).toBeNull();
    expect(listed.status).toBe(200);
    const body = JSON.parse(listed.body) as { alerts: Array<{ alert: { rule: string; output: string } }> };
    expect(body.alerts.map(({ alert }) => alert.rule)).toEqual([RULE]);
    expect(body.alerts[0]?.alert.output).toBe(`x ${ALERTS - 1}`);
  }

  it('answers three summary windows at once, each counting every alert under its rule', async () => {
    const service = await startReplica();

    const answers = await Promise.all(
      ['15m', '1h', '24h'].map((window) => get(service.port, `/ui/summary?window=${window}`)),
    );

    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    for (const answer of answers) {
      const summary = JSON.parse(answer.body) as { total: number; topRules: unknown };
      expect(summary.total).toBe(ALERTS);
      // The rule shown by its first 1,024 units: the answer stays small however long it is.
      expect(summary.topRules).toEqual([{ rule: RULE.slice(0, 1024), count: ALERTS, truncated: true }]);
    }
    await expectServing(service);
  }, 60_000);

  it('answers 32 lists at once from 8 addresses that match nothing, with the store up throughout', async () => {
    const service = await startReplica();

    const lists = await Promise.all(
      Array.from({ length: 32 }, async (_, client) => {
        const answers = [];
        for (let round = 0; round < 4; round++)
          answers.push(
            await get(service.port, '/alerts?rule=nomatch&limit=1', `127.0.0.${2 + (client % 8)}`),
          );
        return answers;
      }),
    );
    const answers = lists.flat();

    // Each is the empty list, or refused by the readers' budget (never as the store being down).
    const listed = answers.filter((answer) => answer.status === 200);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.filter((answer) => (JSON.parse(answer.body) as { count: number }).count !== 0)).toEqual([]);
    const refused = answers.filter((answer) => answer.status !== 200);
    expect(
      refused.filter((answer) => answer.status !== 503 || !answer.body.includes('QUERY_MAX_INFLIGHT')),
    ).toEqual([]);
    expect(service.lines.filter((line) => line.event === 'store_down')).toEqual([]);
    await expectServing(service);
  }, 60_000);
});
