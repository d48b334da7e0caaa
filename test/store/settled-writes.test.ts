import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAlertFeed } from '../../src/alerts/alert-feed.js';
import type { StorePosition } from '../../src/alerts/store-position.js';
import { createAlertStore, type AlertStoreParts } from '../../src/store/create-alert-store.js';
import { redisKeys } from '../../src/store/redis-alert-entry.js';
import type { RedisAlertWrites } from '../../src/store/redis-alert-writes.js';
import type { RedisConnection } from '../../src/store/redis-connection.js';
import { createSettledWrites } from '../../src/store/settled-writes.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable-error.js';
import { startRedisProxy, type HeldCommands, type RedisProxy } from '../helpers/redis-proxy.js';
import { connectTo, redisAvailable, startRedis, untilUp, type TestRedis } from '../helpers/redis-server.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { createTestWrites } from '../helpers/test-writes.js';
import { metricValue } from '../helpers/test-app.js';

const hasRedis = redisAvailable();

describe.skipIf(!hasRedis)('alerts this replica wrote that Redis lost at a restart', () => {
  let redis: TestRedis | undefined;
  let proxy: RedisProxy | undefined;
  let parts: AlertStoreParts | undefined;
  afterEach(async () => {
    await parts?.close(100);
    await proxy?.close();
    await redis?.stop();
  });

  // The Redis store through a proxy (which can hold its reader's reads), what its feed published in
  // order, its registry and its warn lines.
  async function storeThroughProxy(keyPrefix: string, retentionMs = 3_600_000) {
    redis = await startRedis();
    proxy = await startRedisProxy(redis.port);
    const registry = new Registry();
    const feed = createAlertFeed((error) => {
      throw error;
    });
    const seen: Array<string | { gap: StorePosition }> = [];
    feed.subscribe(
      (entry) => seen.push(entry.id),
      (gap) => seen.push({ gap: gap.through }),
    );
    const lines: Array<Record<string, unknown>> = [];
    parts = createAlertStore({
      config: {
        maxAlerts: 100,
        maxBytes: 1e9,
        redis: {
          target: { kind: 'url', url: proxy.url },
          keyPrefix,
          retentionMs,
          pendingMax: 1000,
        },
      },
      dedupWindowMs: 0,
      feed,
      registry,
      logger: pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) }),
      timings: { commandTimeoutMs: 1_000, minBackoffMs: 50, maxBackoffMs: 200 },
    });
    const { store } = parts;
    for (let i = 0; i < 100 && !store.available(); i++) await new Promise((r) => setTimeout(r, 20));
    const write = async (count: number) => {
      const added = Array.from({ length: count }, () => makeStoredAlert());
      for (const entry of added) store.add(entry);
      await store.flush();
      return added.map((entry) => entry.id);
    };
    // Its write link dropped (a blip, Redis itself kept running), and back.
    const relinkWriter = async () => {
      const clients = await redis!.cli('CLIENT', 'LIST');
      const id = /^id=(\d+) .*name=falco-alert-receiver-writer /m.exec(clients)![1]!;
      await redis!.cli('CLIENT', 'KILL', 'ID', id);
      for (
        let i = 0;
        i < 100 && !(await redis!.cli('CLIENT', 'LIST')).includes('name=falco-alert-receiver-writer ');
        i++
      )
        await new Promise((resolve) => setTimeout(resolve, 20));
    };
    return { seen, registry, lines, write, store, relinkWriter };
  }

  // Redis killed and started again from its dump, taken when the reader had read `before` (or with
  // no dump: empty); the two alerts written after it, which the reader had not read, gone (the
  // reader's read held meanwhile).
  async function loseUnreadWrites(
    write: (count: number) => Promise<string[]>,
    { snapshot = true, beforeRestart = () => {} } = {},
  ) {
    if (snapshot) await redis!.cli('SAVE');
    const held = proxy!.hold('falco-alert-receiver-reader', 'XREAD');
    await held.seen;
    await write(2);
    await redis!.kill();
    held.release();
    beforeRestart();
    await redis!.restart();
  }

  // Regression: Redis restarted from a snapshot that still held the last alert the reader had read
  // lost the two this replica wrote after it (answered 202), which the reader had not read yet: it
  // went on from where it had read with no word, and its live streams never had them.
  it('publishes a gap when a snapshot lost alerts this replica wrote and its reader had not read', async () => {
    const { seen, registry, lines, write } = await storeThroughProxy('lost-writes');
    const before = await write(3);
    await expect.poll(() => seen.length).toBe(3);
    await loseUnreadWrites(write);
    expect(await redis!.cli('XLEN', 'lost-writes:alerts')).toBe('3');
    const [after] = await write(1);

    await expect.poll(() => seen, { timeout: 5_000 }).toContain(after);
    expect(seen).toEqual([...before, { gap: expect.any(Array) }, after]);
    expect(await metricValue(registry, 'falco_store_read_gaps_total')).toBe(1);
    expect(lines.filter((line) => line['event'] === 'store_read_gap')).toEqual([
      expect.objectContaining({ count: 1, lostWriteId: expect.stringMatching(/^\d+-\d+$/) }),
    ]);
  });

  it('publishes none when Redis came back from a snapshot holding every alert it wrote', async () => {
    const { seen, registry, write } = await storeThroughProxy('kept-writes');
    const before = await write(3);
    await expect.poll(() => seen.length).toBe(3);
    await redis!.cli('SAVE');
    await redis!.kill();
    await redis!.restart();
    const [after] = await write(1);

    await expect.poll(() => seen, { timeout: 5_000 }).toContain(after);
    expect(seen).toEqual([...before, after]);
    expect(await metricValue(registry, 'falco_store_read_gaps_total')).toBe(0);
  });

  // Regression: the lost alert stayed the newest this replica had written, and each later drop of
  // its write link (Redis not restarted again) asked about it again and told the same gap again.
  it('tells a lost alert once, not again at each later reconnect', async () => {
    const { seen, registry, write, relinkWriter } = await storeThroughProxy('told-once');
    const before = await write(3);
    await expect.poll(() => seen.length).toBe(3);
    await loseUnreadWrites(write);
    // Told once the write link is back, with no alert written since.
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(4);

    await relinkWriter();
    const [next] = await write(1);

    await expect.poll(() => seen, { timeout: 5_000 }).toContain(next);
    expect(seen).toEqual([...before, { gap: expect.any(Array) }, next]);
    expect(await metricValue(registry, 'falco_store_read_gaps_total')).toBe(1);
  });

  // Regression: the check after a relink of a newest write gone from the id index took
  // STORE_RETENTION's edge from a TIME over the reads' link: that link hung (or still on the old
  // master after a failover) held the writes behind it for the command timeout, and asked another
  // node's clock than the one the check read.
  it("writes after a relink without waiting on the reads' link", async () => {
    const prefix = 'relink-own-clock';
    const { write, relinkWriter } = await storeThroughProxy(prefix);
    await write(1);
    // Another replica's alerts trim this one's newest (STORE_MAX_ALERTS).
    const theirs = connectTo(redis!, 'other-receiver');
    await untilUp(theirs);
    const writes = createTestWrites(theirs, prefix, { maxAlerts: 100 });
    for (let i = 0; i < 150; i++) writes.add(makeStoredAlert());
    await writes.flush();
    writes.close();
    await theirs.close();
    const readsHeld = proxy!.hold('falco-alert-receiver', 'TIME');
    try {
      await relinkWriter();
      const startedAt = performance.now();
      await write(1);

      // The reads' link is dropped after 1 s (the command timeout here).
      expect(performance.now() - startedAt).toBeLessThan(500);
    } finally {
      readsHeld.release();
    }
  });

  // Guard: an alert of its own that the stream removed before its write link dropped is no loss of
  // its own to tell (the reader tells the gap if it had not read it), by count or by age.
  it.each([
    { removedBy: 'STORE_MAX_ALERTS', retentionMs: 3_600_000, others: 150, waitMs: 0 },
    { removedBy: 'STORE_RETENTION', retentionMs: 1_000, others: 1, waitMs: 1_200 },
  ])(
    'tells no lost alert when its newest was trimmed by $removedBy before a reconnect',
    async ({ removedBy, retentionMs, others, waitMs }) => {
      const prefix = `trimmed-${removedBy}`;
      const { seen, registry, lines, write, relinkWriter } = await storeThroughProxy(prefix, retentionMs);
      await write(3);
      await expect.poll(() => seen.length).toBe(3);
      const held = proxy!.hold('falco-alert-receiver-reader', 'XREAD');
      await held.seen;
      await write(2);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      // Another replica's alerts trim this one's (its write script removes them with XDEL).
      const theirs = connectTo(redis!, 'other-receiver');
      await untilUp(theirs);
      const writes = createTestWrites(theirs, prefix, { maxAlerts: 100, retentionMs });
      for (let i = 0; i < others; i++) writes.add(makeStoredAlert());
      await writes.flush();
      writes.close();
      await theirs.close();

      await relinkWriter();
      const [after] = await write(1);
      held.release();

      await expect.poll(() => seen, { timeout: 5_000 }).toContain(after);
      // The reader's own gap, for the alerts trimmed before it read them; none of the writer's.
      expect(await metricValue(registry, 'falco_store_read_gaps_total')).toBe(1);
      expect(lines.filter((line) => line['lostWriteId'] !== undefined)).toEqual([]);
    },
  );

  // Regression: Redis restarted without its data lost alerts this replica wrote that its reader had
  // not read (the usual case under load): the writer told a gap through its newest once its link
  // was back, and the reader told the stream made again at its first alert: two `event: truncated`
  // and falco_store_read_gaps_total 2 for one restart.
  it('publishes one gap when a restart without data lost alerts this replica wrote and its reader had not read', async () => {
    const { seen, registry, write } = await storeThroughProxy('lost-and-remade');
    const before = await write(3);
    await expect.poll(() => seen.length).toBe(3);
    await loseUnreadWrites(write, { snapshot: false });
    const [after] = await write(1);

    await expect.poll(() => seen, { timeout: 5_000 }).toContain(after);
    expect(seen).toEqual([...before, { gap: expect.any(Array) }, after]);
    expect(await metricValue(registry, 'falco_store_read_gaps_total')).toBe(1);
  });

  // The same when the reader is back first and tells the stream made again, at another replica's
  // alert, before this replica's writer asks about its own.
  it('publishes one gap when its reader told the restart before its writer asked', async () => {
    const { seen, registry, write } = await storeThroughProxy('remade-first');
    const before = await write(3);
    await expect.poll(() => seen.length).toBe(3);
    // The writer's first command once back (its check) waits in the proxy.
    let writerHeld: HeldCommands | undefined;
    await loseUnreadWrites(write, {
      snapshot: false,
      beforeRestart: () => (writerHeld = proxy!.hold('falco-alert-receiver-writer', 'HGET')),
    });
    const theirs = connectTo(redis!, 'other-receiver');
    await untilUp(theirs);
    // An alert ingest accepts: reads skip any other text.
    const text = JSON.stringify({ rule: 'R', priority: 'Notice', time: new Date().toISOString() });
    await theirs.send(['XADD', 'remade-first:alerts', '*', 'id', 'theirs', 'json', text]);
    await theirs.close();
    await writerHeld!.seen;
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(5);
    writerHeld!.release();
    const [after] = await write(1);

    await expect.poll(() => seen, { timeout: 5_000 }).toContain(after);
    expect(seen).toEqual([...before, { gap: expect.any(Array) }, 'theirs', after]);
    expect(await metricValue(registry, 'falco_store_read_gaps_total')).toBe(1);
  });
});

describe.skipIf(!hasRedis)("the writer's check of its newest write after a reconnect", () => {
  let redis: TestRedis | undefined;
  let writer: RedisConnection | undefined;
  let writes: RedisAlertWrites | undefined;
  afterEach(async () => {
    await redis?.cli('ACL', 'SETUSER', 'default', '+@all');
    writes?.close();
    await writer?.close();
    await redis?.stop();
  });

  // Regression: with XINFO refused by an ACL (which the live reader and the re-sends through
  // Sentinel take: store_read_gap_unknown, the stream's oldest entry), the check failed at every
  // flush, and asked again before every write round from then on, an extra round trip each; and
  // what it was for was never told.
  it('tells a lost alert, and asks once, when an ACL refuses XINFO', async () => {
    redis = await startRedis();
    writer = connectTo(redis, 'writer');
    await untilUp(writer);
    const lost: string[] = [];
    writes = createTestWrites(writer, 'refused', {
      pendingMax: 100,
      maxAlerts: 100,
      onWrittenLost: (write) => lost.push(write.id),
    });
    const written = [makeStoredAlert(), makeStoredAlert()];
    for (const entry of written) writes.add(entry);
    await writes.flush();
    // The newest gone as from a snapshot taken before it was written: a stream that never held it.
    const newest = written[1]!.id;
    const [kept] = (await writer.send(['XRANGE', 'refused:alerts', '-', '+', 'COUNT', '1'])) as unknown[][];
    await writer.send(['DEL', 'refused:alerts']);
    await writer.send(['XADD', 'refused:alerts', kept![0] as string, ...(kept![1] as string[])]);
    await redis.cli('HDEL', 'refused:alert-ids', newest);
    await redis.cli('ACL', 'SETUSER', 'default', '-xinfo');
    const sent = vi.spyOn(writer, 'send');

    await redis.cli('CLIENT', 'KILL', 'TYPE', 'normal');
    for (let i = 0; i < 5; i++) {
      writes.add(makeStoredAlert());
      await writes.flush();
    }

    expect(lost).toEqual([newest]);
    expect(sent.mock.calls.filter(([args]) => args[0] === 'HGET')).toHaveLength(1);
  });
});

describe('the check of the newest settled write, when Redis does not answer it', () => {
  // A check whose every command is rejected with `error`; the commands it sent and the alerts it told lost.
  function refusedCheck(error: Error) {
    const sent: string[][] = [];
    const lost: string[] = [];
    const settled = createSettledWrites({
      send: (args) => {
        sent.push(args);
        return Promise.reject(error);
      },
      keys: redisKeys('x'),
      retainedFromMs: async () => 0,
      onLost: (write) => lost.push(write.id),
    });
    settled.settled([{ id: 'a', args: [], bytes: 1, streamId: '1-1' }]);
    settled.relinked();
    const asked = () => sent.filter(([command]) => command === 'HGET').length;
    return { settled, asked, lost };
  }

  // Regression: a refused check was taken as unanswered and asked again at every flush, before
  // each round of writes, for as long as the link lasted.
  it('asks no more on this link once Redis refused it (an ACL)', async () => {
    const { settled, asked, lost } = refusedCheck(new Error('NOPERM this user has no permissions'));

    await settled.verify();
    await settled.verify();

    expect(asked()).toBe(1);
    expect(lost).toEqual([]);
  });

  it('asks again at the next flush while Redis is loading or busy, and tells nothing meanwhile', async () => {
    const { settled, asked, lost } = refusedCheck(new StoreUnavailableError(new Error('LOADING')));

    await settled.verify();
    await settled.verify();

    expect(asked()).toBe(2);
    expect(lost).toEqual([]);
  });
});
