import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { RedisAlertWrites } from '../../src/store/redis-alert-writes.js';
import { createRedisConnection, type RedisConnection } from '../../src/store/redis-connection.js';
import { startRedisProxy, type RedisProxy } from '../helpers/redis-proxy.js';
import {
  connectTo,
  demoteOldMaster,
  redisAvailable,
  startReplicatedPair,
  untilUp,
} from '../helpers/redis-server.js';
import { serveForTest } from '../helpers/serve-for-test.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { buildTestApp } from '../helpers/test-app.js';
import { createTestWrites } from '../helpers/test-writes.js';
import { until } from '../helpers/until.js';

const hasRedis = redisAvailable();
const PREFIX = 'failover-resume';
const TIMINGS = { commandTimeoutMs: 1_000, minBackoffMs: 50, maxBackoffMs: 200 };
const MOVED = 'Last-Event-ID was written again after a failover';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A client that had an alert the old master took and lost in a failover reconnects, with that
// alert's id as its Last-Event-ID, to a receiver on the promoted master. The failover is done by
// hand, as Sentinel does it (redis-alert-reader-failover.test.ts): the replica promoted (REPLICAOF
// NO ONE) while the old master still takes writes, then the old master made its replica and its
// clients cut off. The receiver that wrote the lost alert writes through Sentinel (an address, a
// proxy, that leads to the promoted master from then on): it writes it again there.
describe.skipIf(!hasRedis)('a reconnect whose Last-Event-ID the old master lost in a failover', () => {
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  // The store's writes over `writer`; through Sentinel, each alert kept until a replica holds it,
  // and written again after a failover when the promoted master lacks it.
  async function writesOver(writer: RedisConnection, throughSentinel: boolean): Promise<RedisAlertWrites> {
    await untilUp(writer);
    const writes = createTestWrites(writer, PREFIX, { confirmReplicated: throughSentinel });
    closers.push(
      () => writes.close(),
      () => writer.close(),
    );
    return writes;
  }

  const throughProxy = (proxy: RedisProxy) =>
    createRedisConnection({
      config: {
        target: { kind: 'url', url: proxy.url },
        keyPrefix: PREFIX,
        retentionMs: 60_000,
        pendingMax: 10,
      },
      name: 'writer',
      logger: pino({ level: 'silent' }),
      timings: TIMINGS,
    });

  async function write(writes: RedisAlertWrites) {
    const entry = makeStoredAlert();
    writes.add(entry);
    await writes.flush();
    return entry.id;
  }

  // a the master, b its replica, holding an alert; b promoted, and alerts written in this order: one
  // to b (`promotedFirst`, by a receiver that moved at once), the lost one to a (`lost`, through
  // Sentinel by one that has not), and another to b (`promotedThen`). With `oldMasterAheadMs`, the
  // old master's stream ids run that far ahead of the new one's (its node's clock ahead; XSETID).
  // With `writtenAgain` false the lost alert's receiver writes to the old master's own address, as
  // without Sentinel: nothing writes it again.
  async function failOver({ oldMasterAheadMs = 0, writtenAgain = true } = {}) {
    const { master: a, replica: b } = await startReplicatedPair();
    closers.push(
      () => a.stop(),
      () => b.stop(),
    );
    const proxy = await startRedisProxy(a.port);
    closers.push(() => proxy.close());
    const viaSentinel = await writesOver(throughProxy(proxy), writtenAgain);
    await write(viaSentinel);
    await until(async () => (await b.cli('XLEN', `${PREFIX}:alerts`)) === '1', 5_000, 'b has it');

    await b.cli('REPLICAOF', 'NO', 'ONE');
    const onB = await writesOver(connectTo(b, 'writer-b', TIMINGS), false);
    // promotedFirst, the promoted master's first alert: the client never has it.
    await write(onB);
    await sleep(5);
    if (oldMasterAheadMs > 0) await a.cli('XSETID', `${PREFIX}:alerts`, `${Date.now() + oldMasterAheadMs}-0`);
    const lost = await write(viaSentinel);
    await sleep(5);
    const promotedThen = await write(onB);
    // The rest of the failover: the proxy leads to b, a follows it, a's clients cut off.
    proxy.retarget(b.port);
    await demoteOldMaster(a, b);
    // Through Sentinel its receiver's writer, back on b, writes it again there.
    if (writtenAgain)
      await until(
        async () => (await b.cli('HEXISTS', `${PREFIX}:alert-ids`, lost)) === '1',
        5_000,
        'the lost alert written again',
      );
    return { b, lost, promotedThen };
  }

  // A receiver on b, and a client reconnecting to it with `lastId`: what it was sent, in order (alert
  // ids, and the reasons of `event: truncated`), up to an alert posted once it had connected.
  async function reconnect(b: { url: string }, lastId: string) {
    const built = buildTestApp({ env: { STORE_URL: b.url, STORE_KEY_PREFIX: PREFIX }, logLevel: 'warn' });
    closers.push(() => built.closeStore());
    await built.storeTried();
    const base = await serveForTest(built.app);
    const stream = await fetch(`${base}/alerts/stream`, { headers: { 'Last-Event-ID': lastId } });
    const reader = stream.body!.getReader();
    closers.push(() => reader.cancel());
    const res = await fetch(`${base}/alerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ rule: 'After the reconnect', priority: 'Notice', time: '2026-12-06T12:00:00Z' }),
    });
    expect(res.status).toBe(202);
    const next = res.headers.get('x-alert-id')!;
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes(`id: ${next}\n`)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const sent = text.split('\n\n').flatMap((event): Array<string | { truncated: string }> => {
      const truncated = /^event: truncated\ndata: (.+)$/m.exec(event)?.[1];
      if (truncated) return [{ truncated: (JSON.parse(truncated) as { reason: string }).reason }];
      return /^id: (.+)$/m.exec(event)?.slice(1) ?? [];
    });
    return { sent, next };
  }

  // Regression: the replay went on after the place the lost alert took when it was written again,
  // the promoted master's newest: the alerts it took before that, which the client never had, were
  // skipped, and nothing told the client.
  it("replays the promoted master's alerts from after the lost one's old place, and tells the gap", async () => {
    const { b, lost, promotedThen } = await failOver();
    const { sent, next } = await reconnect(b, lost);

    // promotedFirst came before the lost alert's old place: where the client stood among the
    // promoted master's alerts is unknown, so it is told it may have missed some.
    expect(sent).toEqual([{ truncated: MOVED }, promotedThen, lost, next]);
  }, 30_000);

  // The lost alert's old place is past every id the promoted master gives for a minute. The
  // replay goes on from the alert's new place, and the alerts the promoted master takes from then
  // on, their ids before the old place, reach the client.
  it("tells the gap and sends the alerts that come next when the old master's clock ran ahead", async () => {
    const { b, lost } = await failOver({ oldMasterAheadMs: 60_000 });
    const { sent, next } = await reconnect(b, lost);

    expect(sent).toEqual([{ truncated: MOVED }, next]);
  }, 30_000);

  // As before: an id the store does not hold replays nothing, and says so.
  it('tells a client whose Last-Event-ID was not written again that it is no longer stored', async () => {
    const { b, lost } = await failOver({ writtenAgain: false });
    await sleep(500);
    expect(await b.cli('HEXISTS', `${PREFIX}:alert-ids`, lost)).toBe('0');

    const { sent, next } = await reconnect(b, lost);

    expect(sent).toEqual([{ truncated: 'Last-Event-ID is no longer stored' }, next]);
  }, 30_000);
});
