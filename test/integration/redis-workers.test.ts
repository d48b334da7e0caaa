import { afterAll, describe, expect, it } from 'vitest';
import { readFixture } from '../helpers/fixtures.js';
import { requestOnNewConnection } from '../helpers/fresh-connection-request.js';
import { freePort, redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { killSpawned, spawnService, type SpawnedService } from '../helpers/spawn-service.js';

const hasRedis = redisAvailable();
const SAMPLE = readFixture('samples/valid/001-demo-034-terminal-shell-in-container.json');

const send = requestOnNewConnection;

async function startWorkers(env: Record<string, string>): Promise<SpawnedService & { port: number }> {
  const port = await freePort();
  const service = await spawnService({ PORT: String(port), WORKERS: '2', ...env }, { timeoutMs: 60_000 });
  for (let i = 0; i < 600 && service.lines.filter((l) => l.event === 'listening').length < 2; i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  return { ...service, port };
}

describe.skipIf(!hasRedis)('WORKERS=2', () => {
  let redis: TestRedis | undefined;
  afterAll(async () => {
    killSpawned();
    await redis?.stop();
  });

  it('with Redis: the workers share the store like replicas, whichever worker answers', async () => {
    redis = await startRedis();
    const service = await startWorkers({ STORE_URL: redis.url, STORE_KEY_PREFIX: 'workers' });
    for (let i = 0; i < 20; i++)
      expect((await send(service.port, 'POST', '/alerts', SAMPLE)).status).toBe(202);
    const workers = new Set(service.lines.filter((l) => l.event === 'falco_alert').map((l) => l.worker));
    expect(workers).toEqual(new Set([1, 2]));

    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < 6; i++) {
      const listed = await send(service.port, 'GET', '/alerts?limit=1000');
      expect((JSON.parse(listed.body) as { count: number }).count).toBe(20);
    }
    expect(service.lines.some((l) => l.event === 'workers_split_store')).toBe(false);
  }, 90_000);

  it('without Redis: says plainly at start that each worker keeps its own store', async () => {
    const service = await startWorkers({});
    const warning = service.lines.find((l) => l.event === 'workers_split_store');
    expect(warning?.msg).toMatch(/each worker holds only the alerts it received.*set STORE_URL/);
  }, 90_000);
});
