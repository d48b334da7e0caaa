import { afterAll, describe, expect, it } from 'vitest';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { SHED_LOG_EVERY_MS } from '../../src/store/log-write-replies.js';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';

const hasRedis = redisAvailable();
const ALERTS = 600;
// About 10 kB: a few hundred fill a Redis capped at 4 MB.
const alertBody = (index: number) =>
  `{"rule":"Fill","priority":"Warning","time":"2026-11-30T12:00:00.000000000Z","output":"fill ${index}",` +
  `"output_fields":{"n":${index},"blob":"${'a'.repeat(10_000)}"}}`;

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

async function listIds(port: number, limit: number): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${port}/alerts?limit=${limit}`);
  return ((await res.json()) as { alerts: Array<{ id: string }> }).alerts.map((alert) => alert.id);
}

describe.skipIf(!hasRedis)('replicas on a Redis at maxmemory', () => {
  let redis: TestRedis | undefined;
  afterAll(async () => {
    killSpawned();
    await redis?.stop();
  });

  // Regression: the write script trimmed the stream only after adding to it, so once Redis refused
  // writes for memory (the lab Redis's 256mb noeviction fence) no write went through again, nothing
  // was trimmed, and every replica's alerts piled up in its queue and were dropped, for good.
  // With DEDUP_WINDOW_MS an alert's first write is its dedup key, else its stream entry.
  it.each(['0', '60000'])(
    'keeps writing the newest alerts, shedding the oldest to make room, the same on both (DEDUP_WINDOW_MS %s)',
    async (window) => {
      await redis?.stop();
      redis = await startRedis({ extraArgs: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction'] });
      const env = {
        STORE_URL: redis.url,
        STORE_KEY_PREFIX: 'full',
        STORE_MAX_ALERTS: '100000',
        DEDUP_WINDOW_MS: window,
      };
      const [a, b] = await Promise.all([spawnService(env), spawnService(env)]);
      const startedAt = Date.now();

      const accepted: string[] = [];
      for (let i = 0; i < ALERTS; i++) {
        const res = await fetch(`http://127.0.0.1:${i % 2 === 0 ? a.port : b.port}/alerts`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: alertBody(i),
        });
        expect(res.status).toBe(202);
        accepted.push(res.headers.get('x-alert-id')!);
      }
      const newest = accepted.slice(-50);
      for (let i = 0; i < 100; i++) {
        const pending =
          (await metric(a.port, 'falco_store_pending_alerts')) +
          (await metric(b.port, 'falco_store_pending_alerts'));
        if (pending === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }

      expect(await metric(a.port, 'falco_store_pending_alerts')).toBe(0);
      expect(await metric(b.port, 'falco_store_pending_alerts')).toBe(0);
      const listed = await listIds(a.port, 1000);
      expect(await listIds(b.port, 1000)).toEqual(listed);
      expect(newest.filter((id) => !listed.includes(id))).toEqual([]);
      expect(listed.length).toBeLessThan(ALERTS);
      // Never refused: each write that found Redis full shed first. Counted, and logged.
      for (const port of [a.port, b.port])
        expect(await metric(port, 'falco_store_write_failures_total')).toBe(0);
      const shed =
        (await metric(a.port, 'falco_store_shed_total')) + (await metric(b.port, 'falco_store_shed_total'));
      expect(shed).toBe(ALERTS - listed.length);
      // Logged at the first shed, then at most once per SHED_LOG_EVERY_MS with the count since the
      // last line (regression: a line per write, 600-1000 in 6 s far over maxmemory).
      const elapsedMs = Date.now() - startedAt;
      for (const service of [a, b]) {
        const shedLines = service.lines.filter((line) => line.event === 'store_full_shed');
        const counted = await metric(service.port, 'falco_store_shed_total');
        if (counted === 0) continue;
        expect(shedLines.length).toBeGreaterThan(0);
        expect(shedLines.length).toBeLessThanOrEqual(1 + Math.ceil(elapsedMs / SHED_LOG_EVERY_MS));
        expect(shedLines.reduce((sum, line) => sum + Number(line.count), 0)).toBeLessThanOrEqual(counted);
      }
      killSpawned();
    },
    120_000,
  );

  // Regression: with allkeys-lru Redis evicted the whole alert stream and its id index (a list
  // still showed alerts that GET /alerts/{id} answered 404), and no line said why.
  it('warns at start that a Redis evicting keys can lose the stored alerts', async () => {
    await redis?.stop();
    redis = await startRedis({ extraArgs: ['--maxmemory', '4mb', '--maxmemory-policy', 'allkeys-lru'] });
    const service = await spawnService({ STORE_URL: redis.url });
    const warned = () => service.lines.filter((line) => line.event === 'store_eviction_policy');
    for (let i = 0; i < 40 && warned().length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));

    expect(warned()).toEqual([expect.objectContaining({ level: 'warn', policy: 'allkeys-lru' })]);
    killSpawned();
  }, 60_000);
});
