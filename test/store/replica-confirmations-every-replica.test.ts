import { createConnection, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RedisConnection } from '../../src/store/redis-connection.js';
import { postAlerts, ruleAlert } from '../helpers/post-alerts.js';
import {
  sentinelAvailable,
  sentinelEnv,
  startSentinel,
  type TestSentinel,
} from '../helpers/redis-sentinel.js';
import { connectTo, redisAvailable, startRedis, untilUp, type TestRedis } from '../helpers/redis-server.js';
import { serveForTest } from '../helpers/serve-for-test.js';
import { buildTestApp } from '../helpers/test-app.js';
import { until } from '../helpers/until.js';

const haveSentinel = redisAvailable() && sentinelAvailable();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A TCP proxy a replica follows its master through, which can cut off what the master sends while
 * the link stays open: the replica still acknowledges (its old offset), so the master goes on
 * listing it online, as a replica that lags or whose network drops the master's stream. (A stopped
 * replica would not do: what the master had sent waits in its socket and is applied once it runs.)
 */
async function startReplicationLink(masterPort: number) {
  let cut = false;
  const sockets = new Set<Socket>();
  const server = createServer((replica) => {
    const master = createConnection(masterPort, '127.0.0.1');
    sockets.add(replica).add(master);
    // No Nagle delay, as on Redis's own sockets: with it each acknowledgement, and each WAIT, took ~40 ms.
    for (const socket of [replica, master]) socket.setNoDelay(true);
    replica.pipe(master);
    master.on('data', (chunk: Buffer) => void (cut || replica.write(chunk)));
    const end = () => {
      replica.destroy();
      master.destroy();
    };
    for (const socket of [replica, master]) socket.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => void (cut = true),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// How many times the server has answered `command` (its command statistics).
async function callsOf(server: TestRedis, command: string): Promise<number> {
  const stats = await server.cli('INFO', 'commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
}

describe.runIf(haveSentinel)('alerts confirmed by every replica the master lists online', () => {
  const servers: TestRedis[] = [];
  const closers: Array<() => Promise<unknown> | void> = [];
  let sentinel: TestSentinel | undefined;
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    sentinel?.stop();
    for (const server of servers.splice(0)) await server.stop();
  });

  // A master, a replica that a failover never promotes (replica-priority 0), one that follows the
  // master through a link the test can cut, a Sentinel watching them, and a receiver through it.
  async function startReceiver(prefix: string) {
    const master = await startRedis({ extraArgs: ['--repl-diskless-sync-delay', '0'] });
    servers.push(master);
    const link = await startReplicationLink(master.port);
    closers.push(() => link.close());
    const follow = (port: number, ...more: string[]) =>
      startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(port), ...more] });
    const steady = await follow(master.port, '--replica-priority', '0');
    const lagging = await follow(link.port);
    servers.push(steady, lagging);
    const listed = (text: string) =>
      [steady, lagging].every((replica) => text.includes(String(replica.port)));
    await until(async () => listed(await master.cli('ROLE')), 15_000, 'both replicas online');
    // Sentinel points a replica that follows another address at the master itself after its
    // failover-timeout: long enough that the lagging replica stays behind its link for the test.
    sentinel = await startSentinel('falco', master.port, { failoverTimeoutMs: 60_000 });
    await until(async () => listed(await sentinel!.ask('replicas', 'falco')), 15_000, 'replica discovery');
    const built = buildTestApp({ env: sentinelEnv(sentinel, prefix), logLevel: 'info' });
    closers.push(() => built.closeStore());
    await built.storeTried();
    const port = Number(new URL(await serveForTest(built.app)).port);
    let count = 0;
    const post = (alerts: number) => postAlerts(port, ruleAlert(`rule ${count++}`), alerts);
    // The ids of `ids` that `server` does not hold (HMGET answers null for those).
    const lackedOn = async (server: TestRedis, ids: string[]) => {
      const direct: RedisConnection = connectTo(server, 'test-reads');
      await untilUp(direct);
      const held = (await direct.send(['HMGET', `${prefix}:alert-ids`, ...ids])) as unknown[];
      await direct.close();
      return ids.filter((_, i) => held[i] === null);
    };
    // Five alerts both replicas hold, then the lagging replica's link cut: their ids.
    const replicatedThenCut = async () => {
      const before = await post(5);
      await until(
        async () => (await lackedOn(lagging, before)).length === 0,
        5_000,
        'the first alerts replicated',
      );
      link.cut();
      return before;
    };
    // The master killed, Sentinel promotes the lagging replica: the ids of `accepted` it lacks once
    // the receiver has written again what it kept.
    const failOver = async (accepted: string[]) => {
      await master.kill();
      await until(
        async () => (await sentinel!.ask('get-master-addr-by-name', 'falco')).includes(String(lagging.port)),
        20_000,
        'the failover to the lagging replica',
      );
      await until(
        async () => (await lackedOn(lagging, accepted)).length === 0,
        15_000,
        'every alert on it',
      ).catch(() => undefined);
      return lackedOn(lagging, accepted);
    };
    // The write link dropped (a blip, a client kill) and back to the same master.
    const blip = async () => {
      const clients = await master.cli('CLIENT', 'LIST');
      const writer = /^id=(\d+) .*name=falco-alert-receiver-writer /m.exec(clients)![1]!;
      await master.cli('CLIENT', 'KILL', 'ID', writer);
      const relinked = async () =>
        new RegExp(`^id=(?!${writer} )\\d+ .*name=falco-alert-receiver-writer `, 'm').test(
          await master.cli('CLIENT', 'LIST'),
        );
      await until(relinked, 10_000, 'the write link back');
    };
    return { master, steady, lagging, post, lackedOn, failOver, blip, replicatedThenCut };
  }

  // Regression: each round ended with WAIT 1, which the steady replica met alone, so the alerts
  // were taken as confirmed and kept no more; the failover promoted the lagging replica without
  // them, and they were lost from every node (the steady one resynced from it) though answered 202.
  it('loses no alert answered 202 when the master fails over to a replica that lagged while listed online', async () => {
    const { lagging, post, lackedOn, failOver, replicatedThenCut } = await startReceiver('lagged');
    const accepted = await replicatedThenCut();
    for (let round = 0; round < 8; round++) accepted.push(...(await post(5)));
    // The last round's WAIT has ended, and the lagging replica lacks what came after the cut.
    await sleep(1_000);
    expect((await lackedOn(lagging, accepted)).length).toBe(40);

    expect(await failOver(accepted)).toEqual([]);
  }, 60_000);

  // Regression: a link back to the same master asked it which kept alerts it held (HMGET) and kept
  // those no more, as if it were the replicas that held them: the lagging replica lacked them, and
  // the failover to it lost them from every node though they were answered 202.
  it('keeps the alerts a link back to the same master holds until every replica confirms them', async () => {
    const { lagging, post, lackedOn, failOver, blip, replicatedThenCut } = await startReceiver('held');
    const accepted = await replicatedThenCut();
    for (let round = 0; round < 4; round++) accepted.push(...(await post(5)));
    await sleep(500);
    await blip();
    // A round on the new link, which the lagging replica does not confirm either.
    accepted.push(...(await post(5)));
    await sleep(1_000);
    expect((await lackedOn(lagging, accepted)).length).toBe(25);

    expect(await failOver(accepted)).toEqual([]);
  }, 60_000);

  it('confirms rounds both replicas hold, so a link back to the same master writes none again', async () => {
    const { master, steady, lagging, post, lackedOn, blip } = await startReceiver('healthy');
    const accepted = [];
    for (let round = 0; round < 4; round++) accepted.push(...(await post(5)));
    await sleep(1_000);
    expect(await lackedOn(steady, accepted)).toEqual([]);
    expect(await lackedOn(lagging, accepted)).toEqual([]);

    // The write link dropped (a blip) and back: the master is asked about no kept alert.
    await blip();
    accepted.push(...(await post(1)));
    await sleep(500);

    expect(await callsOf(master, 'hmget')).toBe(0);
    expect(await lackedOn(master, accepted)).toEqual([]);
  }, 60_000);
});
