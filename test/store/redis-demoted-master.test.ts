import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisConnection, type RedisConnection } from '../../src/store/redis-connection.js';
import { createStoreMetrics } from '../../src/store/store-metrics.js';
import { startRedisProxy, type RedisProxy } from '../helpers/redis-proxy.js';
import { redisAvailable, startRedis, untilUp } from '../helpers/redis-server.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { createTestWrites } from '../helpers/test-writes.js';
import { until } from '../helpers/until.js';

const hasRedis = redisAvailable();
const TIMINGS = { commandTimeoutMs: 2_000, minBackoffMs: 100, maxBackoffMs: 5_000 };

/** A connection as the store's writer makes one, to `url` (up before it returns). */
async function writerTo(url: string, keyPrefix: string): Promise<RedisConnection> {
  const config = { target: { kind: 'url' as const, url }, keyPrefix, retentionMs: 60_000, pendingMax: 1000 };
  const writer = createRedisConnection({
    config,
    name: `${keyPrefix}-writer`,
    logger: pino({ level: 'silent' }),
    timings: TIMINGS,
  });
  await untilUp(writer);
  return writer;
}

// STORE_URL names one address (a Kubernetes Service, a managed Redis's DNS name) whose master can
// be demoted to a replica while the receiver's links to it stay open: Redis then answers every
// write READONLY, a reply error, which used to leave the link as it was. Each write failed on it
// for as long as the process lived (seen: two receivers, 2,555 alerts answered 202 stuck queued,
// falco_store_up 1, /readyz 200, none written to the promoted master; past STORE_PENDING_MAX the
// oldest are dropped, lost). A new connection to the same address reaches the new master.
describe.skipIf(!hasRedis)('a master demoted to a replica behind the same address', () => {
  const started: Array<{ stop(): Promise<void> }> = [];
  let writer: RedisConnection | undefined;
  let proxy: RedisProxy | undefined;
  afterEach(async () => {
    await writer?.close();
    await proxy?.close();
    for (const server of started.splice(0)) await server.stop();
  });

  it('drops the link on READONLY, so the writes reach the master the address leads to now', async () => {
    const [a, b] = [await startRedis(), await startRedis()];
    started.push(a, b);
    proxy = await startRedisProxy(a.port);
    writer = await writerTo(proxy.url, 'demoted');
    const registry = new Registry();
    const metrics = createStoreMetrics(registry, { isUp: () => true, pending: () => 0 });
    const writes = createTestWrites(writer, 'demoted', { metrics });
    writes.add(makeStoredAlert());
    await writes.flush();
    expect(await a.cli('XLEN', 'demoted:alerts')).toBe('1');

    // The failover: b promoted, a made its replica, the address leads to b from now on.
    await a.cli('REPLICAOF', '127.0.0.1', String(b.port));
    proxy.retarget(b.port);
    const after = Array.from({ length: 20 }, () => makeStoredAlert());
    for (const entry of after) writes.add(entry);

    // Before: pending stayed 20 (every write READONLY on the open link to a), b got none.
    await until(async () => writes.pending() === 0, 5_000, 'the queue written').catch(() => undefined);
    expect(writes.pending()).toBe(0);
    const onB = (await b.cli('HKEYS', 'demoted:alert-ids')).split('\n');
    expect(after.filter((entry) => !onB.includes(entry.id))).toEqual([]);
    writes.close();
  });

  it('reconnects to an address that keeps leading to a replica with backoff, not in a loop', async () => {
    const [a, b] = [await startRedis(), await startRedis()];
    started.push(a, b);
    await a.cli('REPLICAOF', '127.0.0.1', String(b.port));
    writer = await writerTo(a.url, 'replica');
    const statsBefore = await a.cli('INFO', 'stats');
    const connections = (stats: string) => Number(/total_connections_received:(\d+)/.exec(stats)?.[1]);
    // A write every 50 ms for 2 s, as a flush retried on each link up would send.
    let readOnly = 0;
    for (let i = 0; i < 40; i++) {
      if (writer.isUp()) await writer.send(['SET', 'k', 'v']).catch(() => (readOnly += 1));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(readOnly).toBeGreaterThan(1);
    // 100, 200, 400, 800 ms between reopens: a handful of connections, not one per write.
    expect(connections(await a.cli('INFO', 'stats')) - connections(statsBefore)).toBeLessThan(8);
  });
});
