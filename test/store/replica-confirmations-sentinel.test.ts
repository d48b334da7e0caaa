import { afterEach, describe, expect, it } from 'vitest';
import { readFixture } from '../helpers/fixtures.js';
import {
  sentinelAvailable,
  sentinelEnv,
  startSentinel,
  type TestSentinel,
} from '../helpers/redis-sentinel.js';
import { connectTo, redisAvailable, startRedis, untilUp, type TestRedis } from '../helpers/redis-server.js';
import { serveForTest } from '../helpers/serve-for-test.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';

const haveSentinel = redisAvailable() && sentinelAvailable();
const SAMPLE = readFixture('samples/valid/001-demo-034-terminal-shell-in-container.json');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen in time`);
    await sleep(50);
  }
}

// How many WAITs the server has answered (its command statistics).
async function waitsAnswered(server: TestRedis): Promise<number> {
  return Number(/cmdstat_wait:calls=(\d+)/.exec(await server.cli('INFO', 'commandstats'))?.[1] ?? 0);
}

describe.runIf(haveSentinel)('confirmations through Sentinel, with and without a replica online', () => {
  const servers: TestRedis[] = [];
  let sentinel: TestSentinel | undefined;
  let stopApp: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stopApp?.();
    stopApp = undefined;
    sentinel?.stop();
    for (const server of servers.splice(0)) await server.stop();
  });

  // A master alone, a Sentinel watching it, and the receiver in this process through the Sentinel.
  async function startReceiver(prefix: string) {
    const master = await startRedis();
    servers.push(master);
    sentinel = await startSentinel('falco', master.port);
    const built = buildTestApp({ env: sentinelEnv(sentinel, prefix), logLevel: 'info' });
    // Read straight from the master (a redis-cli per answer loaded the machine past the answers' wait).
    const direct = connectTo(master, 'test-reads');
    await untilUp(direct);
    stopApp = async () => {
      await built.closeStore();
      await direct.close();
    };
    await built.storeTried();
    const base = await serveForTest(built.app);
    const online = () => metricValue(built.metrics.registry, 'falco_store_replica_online');
    // Each 202, and whether the master held the alert when it came.
    const post = async () => {
      const res = await fetch(`${base}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: SAMPLE,
      });
      const id = res.headers.get('x-alert-id')!;
      const held = (await direct.send(['HEXISTS', `${prefix}:alert-ids`, id])) === 1;
      return { status: res.status, held };
    };
    // `clients` posting at once, `each` alerts in turn: how many 202s came before the master held theirs.
    const postMany = async (clients: number, each: number) => {
      const answers = await Promise.all(
        Array.from({ length: clients }, async () => {
          const mine = [];
          for (let i = 0; i < each; i++) mine.push(await post());
          return mine;
        }),
      );
      const all = answers.flat();
      expect(all.map((answer) => answer.status)).toEqual(all.map(() => 202));
      return all.filter((answer) => !answer.held).length;
    };
    const logged = (event: string) => built.logLines.filter((line) => line.event === event).length;
    return { master, online, postMany, logged };
  }

  // A replica of `master`, once the master lists it online; `role` says whether it still does.
  async function startReplica(master: TestRedis) {
    const replica = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
    servers.push(replica);
    const role = async () => (await master.cli('ROLE')).includes(String(replica.port));
    await until(role, 'the replica online');
    return { replica, role };
  }

  // Regression: every round waited 250 ms on a WAIT nothing could confirm, and answers stopped
  // waiting for writes meanwhile, so a receiver killed during a WAIT took the alerts it had answered
  // 202 and not yet written (92 in one probe) though the master could have had them at once.
  it('answers 202 only once the master holds the alert while the master has no replica, and says so once', async () => {
    const { master, online, postMany, logged } = await startReceiver('alone');
    await until(async () => (await online()) === 0, 'the look at the master');

    const early = await postMany(8, 25);

    expect(early).toBe(0);
    expect(await waitsAnswered(master)).toBe(0);
    expect(logged('store_no_replica')).toBe(1);
  }, 60_000);

  it('waits for a replica again once one is online, and answers at once after the master when it is gone again', async () => {
    const { master, online, postMany, logged } = await startReceiver('comes-back');
    await until(async () => (await online()) === 0, 'the look at the master');
    await postMany(1, 5);

    const { replica, role } = await startReplica(master);
    // A round more than a second after the last look looks again, finds the replica and waits for it.
    await sleep(1_100);
    await postMany(4, 10);
    expect(await online()).toBe(1);
    expect(await waitsAnswered(master)).toBeGreaterThan(0);
    expect(logged('store_replica_online')).toBe(1);
    await until(async () => (await replica.cli('HLEN', 'comes-back:alert-ids')) === '45', 'replication');

    await replica.stop();
    await until(async () => !(await role()), 'the master seeing its replica gone');
    // The first round's WAIT finds none (none at all when the count it would ask for is a second old
    // by then: that round looks at the master first); the rounds after it do not wait.
    const waitsBefore = await waitsAnswered(master);
    await postMany(1, 1);
    const early = await postMany(8, 25);
    expect(early).toBe(0);
    expect(await online()).toBe(0);
    expect(await waitsAnswered(master)).toBeLessThanOrEqual(waitsBefore + 1);
    // Inside a minute of the first line: not logged again.
    expect(logged('store_no_replica')).toBe(1);
  }, 60_000);

  // Regression: the writer looked at the master only in a round of writes, so a receiver that got
  // no alert after the replica came back read 0 (over 66 s in a probe) and the alert
  // FalcoAlertReceiverRedisReplicaMissing fired for a healthy setup.
  it('reads a replica online again once one is back, with no alert written meanwhile', async () => {
    const { master, online, postMany, logged } = await startReceiver('idle');
    await until(async () => (await online()) === 0, 'the look at the master');
    await postMany(1, 1);

    await startReplica(master);

    await until(async () => (await online()) === 1, 'the gauge back at 1', 5_000);
    expect(logged('store_replica_online')).toBe(1);
  }, 60_000);
});
