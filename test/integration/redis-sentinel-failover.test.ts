import { afterEach, describe, expect, it } from 'vitest';
import type { RedisConnection } from '../../src/store/redis-connection.js';
import { readFixture } from '../helpers/fixtures.js';
import { startLoad } from '../helpers/load-generator.js';
import { sentinelAvailable, startSentinel, type TestSentinel } from '../helpers/redis-sentinel.js';
import { connectTo, redisAvailable, startRedis, untilUp, type TestRedis } from '../helpers/redis-server.js';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';
import { until } from '../helpers/until.js';

const haveSentinel = redisAvailable() && sentinelAvailable();
const SAMPLE = readFixture('samples/valid/001-demo-034-terminal-shell-in-container.json').toString('utf8');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(haveSentinel)('a graceful Sentinel failover under load', () => {
  const servers: TestRedis[] = [];
  let sentinel: TestSentinel | undefined;
  let reads: RedisConnection | undefined;
  afterEach(async () => {
    await reads?.close();
    reads = undefined;
    killSpawned();
    sentinel?.stop();
    for (const server of servers.splice(0)) await server.stop();
  });

  // Regression: node-redis followed the promoted replica by itself and nothing told the writer, so
  // alerts the old master took after the promotion (no replica left to WAIT for, so kept) were
  // dropped as confirmed by the first WAIT on the new master, though that WAIT confirmed only the
  // writes of another server; the old master, demoted, then synced them away: 13 of 541 alerts
  // answered 202 were on neither replica's answers, with no line or count saying so.
  it('loses no alert answered 202 to SENTINEL FAILOVER', async () => {
    // A replica syncs at once (Redis waits 5 s by default for more replicas to share a sync).
    const now = ['--repl-diskless-sync-delay', '0'];
    const master = await startRedis({ extraArgs: now });
    const replica = await startRedis({
      extraArgs: [...now, '--replicaof', '127.0.0.1', String(master.port)],
    });
    servers.push(master, replica);
    sentinel = await startSentinel('falco', master.port);
    const synced = async (server: TestRedis) =>
      /master_link_status:up/.test(await server.cli('INFO', 'replication').catch(String));
    await until(
      async () =>
        (await synced(replica)) && (await sentinel!.ask('replicas', 'falco')).includes(String(replica.port)),
      15_000,
      'replica discovery',
    );
    const env = {
      STORE_SENTINELS: `127.0.0.1:${sentinel.port}`,
      STORE_SENTINEL_MASTER: 'falco',
      STORE_KEY_PREFIX: 'failover',
      // Every alert of the run stays in the stream: a missing one was lost, not trimmed.
      STORE_MAX_ALERTS: '100000',
    };
    const receivers = await Promise.all([spawnService(env), spawnService(env)]);
    const loads = receivers.map((receiver) => startLoad(receiver.port, SAMPLE, 1));
    await until(async () => loads.every((load) => load.accepted() >= 100), 20_000, 'the first answers');

    // Three failovers, back and forth: each leaves a window (the promotion seen by Sentinel, not yet
    // by node-redis's next look) in which writes land on the master being replaced.
    let [current, next] = [master, replica];
    for (let round = 0; round < 3; round++) {
      await sentinel.ask('failover', 'falco');
      const promoted = async () =>
        (await sentinel!.ask('get-master-addr-by-name', 'falco')).includes(String(next.port));
      await until(promoted, 20_000, 'the failover');
      // The old master demoted and synced from the promoted replica: what it alone had is gone.
      await until(() => synced(current), 20_000, 'the old master following the new one');
      [current, next] = [next, current];
    }
    await sleep(1_000);
    const accepted = (await Promise.all(loads.map((load) => load.stop()))).flatMap(
      (result) => result.acceptedIds,
    );

    reads = connectTo(current, 'test-reads');
    await untilUp(reads);
    const missing = async () => {
      const gone: string[] = [];
      // HMGET answers null for an id the new master does not hold.
      for (let from = 0; from < accepted.length; from += 5_000) {
        const ids = accepted.slice(from, from + 5_000);
        const held = (await reads!.send(['HMGET', 'failover:alert-ids', ...ids])) as unknown[];
        gone.push(...ids.filter((_, i) => held[i] === null));
      }
      return gone;
    };
    // Given time to write what they queued meanwhile; then the ids still missing, if any, are named.
    await until(async () => (await missing()).length === 0, 15_000, 'every alert on the new master').catch(
      () => undefined,
    );
    expect(await missing()).toEqual([]);
    // And both receivers answer them (every 50th here: a GET each), their links back up.
    const up = async (port: number) =>
      /^falco_store_up 1$/m.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    await until(async () => (await up(receivers[0]!.port)) && up(receivers[1]!.port), 10_000, 'the links');
    const sampled = accepted.filter((_, i) => i % 50 === 0 || i === accepted.length - 1);
    const notFound: string[] = [];
    for (const receiver of receivers)
      for (const id of sampled) {
        const res = await fetch(`http://127.0.0.1:${receiver.port}/alerts/${id}`);
        await res.arrayBuffer();
        if (res.status !== 200) notFound.push(`${receiver.port} ${id}: ${res.status}`);
      }
    expect(notFound).toEqual([]);
  }, 120_000);
});
