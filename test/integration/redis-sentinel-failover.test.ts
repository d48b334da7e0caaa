import { afterEach, describe, expect, it } from 'vitest';
import type { RedisConnection } from '../../src/store/redis-connection.js';
import { readFixture } from '../helpers/fixtures.js';
import { startLoad } from '../helpers/load-generator.js';
import { sentinelAvailable, startWatchedPair, type TestSentinel } from '../helpers/redis-sentinel.js';
import {
  connectTo,
  redisAvailable,
  replicaSynced,
  untilUp,
  type TestRedis,
} from '../helpers/redis-server.js';
import { serveForTest } from '../helpers/serve-for-test.js';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';
import { openSseClient } from '../helpers/sse-client.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';
import { until } from '../helpers/until.js';

const haveSentinel = redisAvailable() && sentinelAvailable();
const SAMPLE = readFixture('samples/valid/001-demo-034-terminal-shell-in-container.json').toString('utf8');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// At most this many failovers for one in which the old master took alerts after the promotion.
const MAX_ROUNDS = 6;

describe.runIf(haveSentinel)('a graceful Sentinel failover under load', () => {
  const servers: TestRedis[] = [];
  let watcher: TestSentinel | undefined;
  let reads: RedisConnection | undefined;
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await reads?.close();
    reads = undefined;
    killSpawned();
    watcher?.stop();
    for (const server of servers.splice(0)) await server.stop();
  });

  // A master, its replica and a Sentinel watching them, and the settings of receivers using them.
  async function watchedPair(prefix: string) {
    const { master, replica, sentinel: watching } = await startWatchedPair();
    servers.push(master, replica);
    watcher = watching;
    const env = {
      STORE_SENTINELS: `127.0.0.1:${watching.port}`,
      STORE_SENTINEL_MASTER: 'falco',
      STORE_KEY_PREFIX: prefix,
      // Every alert of the run stays in the stream: a missing one was lost, not trimmed.
      STORE_MAX_ALERTS: '100000',
    };
    return { master, replica, sentinel: watching, env };
  }

  // Regression: node-redis followed the promoted replica by itself and nothing told the writer, so
  // alerts the old master took after the promotion (no replica left to WAIT for, so kept) were
  // dropped as confirmed by the first WAIT on the new master, though that WAIT confirmed only the
  // writes of another server; the old master, demoted, then synced them away: 13 of 541 alerts
  // answered 202 were on neither replica's answers, with no line or count saying so.
  it('loses no alert answered 202 to SENTINEL FAILOVER', async () => {
    const { master, replica, sentinel, env } = await watchedPair('failover');
    const receivers = await Promise.all([spawnService(env), spawnService(env)]);
    const loads = receivers.map((receiver) => startLoad(receiver.port, SAMPLE, 1));
    await until(async () => loads.every((load) => load.accepted() >= 100), 20_000, 'the first answers');

    // Three failovers, back and forth: each leaves a window (the promotion seen by Sentinel, not yet
    // by node-redis's next look) in which writes land on the master being replaced.
    let [current, next] = [master, replica];
    for (let round = 0; round < 3; round++) {
      await sentinel.ask('failover', 'falco');
      const promoted = async () =>
        (await sentinel.ask('get-master-addr-by-name', 'falco')).includes(String(next.port));
      await until(promoted, 20_000, 'the failover');
      // The old master demoted and synced from the promoted replica: what it alone had is gone.
      await until(() => replicaSynced(current), 20_000, 'the old master following the new one');
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

  // Regression: in 4 of 5 SENTINEL FAILOVERs under load the old master took alerts after the
  // promotion that the new one never had (their receivers wrote them again there), and each
  // receiver's reader took the new master's stream for one made anew: every live stream got
  // `event: truncated` and falco_store_read_gaps_total counted one, though no client had missed an
  // alert (measured: 0 of 12,147 missing from either stream).
  it('sends no event: truncated and misses no alert when the old master took alerts after the promotion', async () => {
    const { master, replica, sentinel, env } = await watchedPair('read-gap');
    const apps = [buildTestApp({ env, logLevel: 'info' }), buildTestApp({ env, logLevel: 'info' })];
    for (const app of apps) closers.push(() => app.closeStore());
    await Promise.all(apps.map((app) => app.storeTried()));
    const ports = (await Promise.all(apps.map((app) => serveForTest(app.app)))).map((base) =>
      Number(new URL(base).port),
    );
    const clients = await Promise.all(ports.map((port) => openSseClient(port)));
    for (const client of clients) closers.push(() => client.close());
    const gapsBefore = await Promise.all(
      apps.map((app) => metricValue(app.metrics.registry, 'falco_store_read_gaps_total')),
    );
    const loads = ports.map((port) => startLoad(port, SAMPLE, 1));
    await until(async () => loads.every((load) => load.accepted() >= 100), 20_000, 'the first answers');

    const rodeOver = () =>
      apps.flatMap((app) => app.logLines.filter((line) => line['event'] === 'store_read_failover'));
    let [current, next] = [master, replica];
    for (let round = 0; round < MAX_ROUNDS && rodeOver().length === 0; round++) {
      if (round > 0) await until(() => replicaSynced(next), 20_000, 'the old master following the new one');
      await sentinel.ask('failover', 'falco');
      await until(
        async () => (await sentinel.ask('get-master-addr-by-name', 'falco')).includes(String(next.port)),
        20_000,
        'the failover',
      );
      await until(async () => apps.every((app) => app.store.available()), 10_000, 'the links back');
      await sleep(1_500);
      [current, next] = [next, current];
    }
    await Promise.all(loads.map((load) => load.stop()));

    // Every alert the stream holds, each client has had (given time to read the last ones).
    reads = connectTo(current, 'test-reads');
    await untilUp(reads);
    const entries = (await reads.send(['XRANGE', 'read-gap:alerts', '-', '+'])) as Array<[string, string[]]>;
    const stored = entries.map(([, fields]) => fields[fields.indexOf('id') + 1]!);
    const missed = () =>
      clients.map((client) => {
        const streamed = new Set(client.ids);
        return stored.filter((id) => !streamed.has(id)).length;
      });
    await until(async () => missed().every((count) => count === 0), 10_000, 'every alert streamed').catch(
      () => undefined,
    );
    expect(stored.length).toBeGreaterThan(100);
    expect(missed()).toEqual([0, 0]);
    expect(clients.map((client) => client.truncatedAt)).toEqual([[], []]);
    const gapsAfter = await Promise.all(
      apps.map((app) => metricValue(app.metrics.registry, 'falco_store_read_gaps_total')),
    );
    expect(gapsAfter).toEqual(gapsBefore);
    // The run had what it is about: a reader found the new master without alerts it had read.
    expect(rodeOver().length).toBeGreaterThan(0);
  }, 180_000);
});
