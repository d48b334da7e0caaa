import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAlertFeed, type AlertFeed } from '../../src/alerts/alert-feed.js';
import { isAfter, type StorePosition } from '../../src/alerts/store-position.js';
import { createAlertStore } from '../../src/store/create-alert-store.js';
import { redisKeys, streamPosition } from '../../src/store/redis-alert-entry.js';
import { startAlertReader } from '../../src/store/redis-alert-reader.js';
import { skipUnreadableEntries } from '../../src/store/skip-unreadable-entries.js';
import { createRedisConnection } from '../../src/store/redis-connection.js';
import { createStoreMetrics } from '../../src/store/store-metrics.js';
import {
  connectTo,
  freePort,
  redisAvailable,
  startRedis,
  untilUp,
  type TestRedis,
} from '../helpers/redis-server.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { metricValue } from '../helpers/test-app.js';

const SKIP_UNREADABLE = skipUnreadableEntries(
  { unreadableEntry: () => undefined },
  pino({ level: 'silent' }),
);

const hasRedis = redisAvailable();

/** What a feed listener saw, in order: alert ids and gaps (with where they end). */
function recordFeed(feed: AlertFeed) {
  const seen: Array<{ id: string; position?: StorePosition } | { gap: StorePosition; storedAtMs?: number }> =
    [];
  feed.subscribe(
    (entry, position) => seen.push({ id: entry.id, position }),
    (gap) => seen.push({ gap: gap.through, storedAtMs: gap.storedAtMs }),
  );
  return {
    seen,
    ids: () => seen.flatMap((event) => ('id' in event ? [event.id] : [])),
    gaps: () => seen.flatMap((event) => ('gap' in event ? [event.gap] : [])),
    gapTimes: () => seen.flatMap((event) => ('gap' in event ? [event.storedAtMs] : [])),
  };
}

describe.skipIf(!hasRedis)("the Redis store's live reader", () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  // On `own`, a Redis of the test's own (killed and restarted), with short reconnect waits.
  async function storeWithFeed(keyPrefix: string, maxAlerts: number, own?: TestRedis) {
    const registry = new Registry();
    const feed = createAlertFeed((error) => {
      throw error;
    });
    // Before the store starts: its reader may publish before it is first up here.
    const recorded = recordFeed(feed);
    const parts = createAlertStore({
      config: {
        maxAlerts,
        maxBytes: 1e9,
        redis: {
          target: { kind: 'url', url: (own ?? redis).url },
          keyPrefix,
          retentionMs: 3_600_000,
          pendingMax: 1000,
        },
      },
      dedupWindowMs: 0,
      feed,
      registry,
      logger: pino({ level: 'silent' }),
      ...(own ? { timings: { commandTimeoutMs: 1_000, minBackoffMs: 50, maxBackoffMs: 200 } } : {}),
    });
    const { store } = parts;
    for (let i = 0; i < 100 && !store.available(); i++) await new Promise((r) => setTimeout(r, 20));
    return { parts, store, registry, feed: recorded };
  }

  // A reader of its own on `keyPrefix`'s stream, counting the gaps it finds, and a way to write an
  // alert removed in the same script (as a trim by age or a shed at maxmemory does).
  async function readerWithGaps(keyPrefix: string) {
    const keys = redisKeys(keyPrefix);
    const connection = connectTo(redis, 'reader');
    await untilUp(connection);
    const feed = createAlertFeed(() => undefined);
    const recorded = recordFeed(feed);
    const counted = { gaps: 0 };
    const reader = startAlertReader({
      connection,
      keys,
      feed,
      metrics: { readGap: () => (counted.gaps += 1) },
      logger: pino({ level: 'silent' }),
      unreadable: SKIP_UNREADABLE,
      blockMs: 100,
    });
    const addRemoved = () =>
      redis.cli(
        'EVAL',
        "local id = redis.call('XADD', KEYS[1], '*', 'id', 'gone') redis.call('XDEL', KEYS[1], id) return id",
        '1',
        keys.alerts,
      );
    const close = async () => {
      reader.stop();
      await connection.close();
    };
    return { recorded, counted, addRemoved, close };
  }

  // Regression: a reader that fell behind the trim resumed after the removed alerts without a word:
  // an SSE client got 7,121 of 14,777 alerts, one hole of 7,656, and no `event: truncated`.
  it('publishes a gap, before the alerts read after it, when a write trims past where it had read', async () => {
    const { parts, store, registry, feed } = await storeWithFeed('gap-trim', 5);
    const before = [makeStoredAlert(), makeStoredAlert()];
    for (const entry of before) store.add(entry);
    await store.flush();
    await expect.poll(() => feed.ids().length).toBe(2);

    // One write script: twenty alerts in, the oldest fifteen trimmed before the reader is answered.
    const burst = Array.from({ length: 20 }, () => makeStoredAlert());
    for (const entry of burst) store.add(entry);
    await store.flush();
    await expect.poll(() => feed.ids().length).toBe(7);

    const survivors = burst.slice(-5).map((entry) => entry.id);
    expect(feed.ids()).toEqual([...before.map((entry) => entry.id), ...survivors]);
    expect(feed.seen[2]).toHaveProperty('gap');
    const [gap] = feed.gaps();
    const positionOf = (index: number) => (feed.seen[index] as { position: StorePosition }).position;
    // Between the last alert read before and the first read after.
    expect(isAfter(gap!, positionOf(1))).toBe(true);
    expect(isAfter(positionOf(3), gap!)).toBe(true);
    expect(feed.gaps()).toHaveLength(1);
    expect(await metricValue(registry, 'falco_store_read_gaps_total')).toBe(1);
    await parts.close();
  });

  it('publishes no gap while it keeps up, however often the stream is trimmed', async () => {
    const { parts, store, registry, feed } = await storeWithFeed('gap-none', 3);
    const added = Array.from({ length: 20 }, () => makeStoredAlert());
    for (const [index, entry] of added.entries()) {
      store.add(entry);
      await store.flush();
      await expect.poll(() => feed.ids().length).toBe(index + 1);
    }

    expect(feed.ids()).toEqual(added.map((entry) => entry.id));
    expect(feed.gaps()).toEqual([]);
    expect(await metricValue(registry, 'falco_store_read_gaps_total')).toBe(0);
    await parts.close();
  });

  // Regression: a gap's time was moved into this process's clock with a TIME of its own, one a gap:
  // a reader behind the trim finds one at nearly every read, so each read took a second round trip,
  // and the reader, too slow already, fell further behind.
  it('asks Redis its time once for many gaps in a row', async () => {
    const { recorded, addRemoved, close } = await readerWithGaps('gap-flood');
    const timeCalls = async () =>
      Number(/cmdstat_time:calls=(\d+)/.exec(await redis.cli('INFO', 'commandstats'))?.[1] ?? 0);
    // Its first read asks Redis's time once (where to start).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await timeCalls();

    // Each written and removed before the reader reads it, as a trim behind a slow reader does.
    for (let gap = 1; gap <= 20; gap++) {
      await addRemoved();
      await expect.poll(() => recorded.gaps().length).toBe(gap);
    }

    expect(recorded.gapTimes().every((at) => Math.abs(Date.now() - at!) < 5_000)).toBe(true);
    expect((await timeCalls()) - before).toBeLessThanOrEqual(1);
    await close();
  });

  describe("with this process's clock off Redis's", () => {
    // Only Date is faked: the clock of this process, stepped; timers and Redis keep real time.
    const shiftClock = (byMs: number) =>
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + byMs, shouldAdvanceTime: true });
    afterEach(() => vi.useRealTimers());

    // Regression: the reader started at this process's own clock as a stream id, which Redis's
    // clock stamps: a replica whose node ran a minute ahead of Redis's published nothing, to its
    // live streams and trigger runs, for that minute after it started.
    it('publishes the alerts written after it started when its clock runs a minute ahead', async () => {
      shiftClock(60_000);
      const { parts, store, feed } = await storeWithFeed('clock-ahead', 100);
      const added = [makeStoredAlert(), makeStoredAlert()];
      for (const entry of added) store.add(entry);
      await store.flush();

      await expect.poll(() => feed.ids(), { timeout: 3_000 }).toEqual(added.map((entry) => entry.id));
      await parts.close();
    });

    // Regression: a gap was timed by its stream id alone, on Redis's clock, and trigger runs compare
    // that with their start on this process's: on a replica a minute ahead of Redis, a gap of alerts
    // stored after a run began read as older than the run, and the run ended missed with nothing
    // said of the alerts it never saw (no unseenAlertsAt, no trigger_alerts_unseen).
    it("times a gap on this process's clock when its clock runs a minute ahead", async () => {
      shiftClock(60_000);
      const { parts, store, feed } = await storeWithFeed('gap-ahead', 5);
      store.add(makeStoredAlert());
      await store.flush();
      await expect.poll(() => feed.ids().length).toBe(1);

      // One write script: twenty alerts in, the oldest fifteen trimmed before the reader is answered.
      for (let i = 0; i < 20; i++) store.add(makeStoredAlert());
      await store.flush();
      await expect.poll(() => feed.gaps().length).toBe(1);

      const [through] = feed.gaps();
      const [storedAtMs] = feed.gapTimes();
      // The stream id is a minute behind this clock; the gap's time is on this clock.
      expect(Math.abs(Date.now() - 60_000 - through![0])).toBeLessThan(5_000);
      expect(Math.abs(Date.now() - storedAtMs!)).toBeLessThan(5_000);
      await parts.close();
    });

    // A minute behind, it published again as new the alerts written in the minute before it started.
    it('publishes none written before it started when its clock runs a minute behind', async () => {
      const earlier = await storeWithFeed('clock-behind', 100);
      earlier.store.add(makeStoredAlert());
      await earlier.store.flush();
      await earlier.parts.close();
      // Clearly before: the start is read a millisecond or two early rather than late (redis-clock.ts).
      await new Promise((resolve) => setTimeout(resolve, 100));
      shiftClock(-60_000);
      const { parts, store, feed } = await storeWithFeed('clock-behind', 100);
      const later = makeStoredAlert();
      store.add(later);
      await store.flush();

      await expect.poll(() => feed.ids()).toContain(later.id);
      expect(feed.ids()).toEqual([later.id]);
      await parts.close();
    });
  });

  // Regression: Redis restarted without its data (no persistence, or from a snapshot older than
  // its last writes) made the stream again, and the reader went on from where it had read without a
  // word: the alerts written just before the restart that it had not read yet were missed by every
  // live stream and trigger run (seen: 1 of 3,704 answered 202 in a kill and restart under load,
  // no `event: truncated`), and dashboards kept lists no replica answers any more.
  it('publishes a gap before the first alert of a stream made again (Redis restarted without its data)', async () => {
    const own = await startRedis();
    const { parts, registry, feed: recorded } = await storeWithFeed('remade', 100, own);
    try {
      const before = [makeStoredAlert(), makeStoredAlert(), makeStoredAlert()];
      for (const entry of before) parts.store.add(entry);
      await parts.store.flush();
      await expect.poll(() => recorded.ids().length).toBe(3);

      await own.kill();
      await own.restart();
      const after = makeStoredAlert();
      parts.store.add(after);
      await expect.poll(() => recorded.ids().length, { timeout: 5_000 }).toBe(4);

      expect(recorded.ids()).toEqual([...before.map((entry) => entry.id), after.id]);
      expect(recorded.gaps()).toHaveLength(1);
      expect(recorded.seen[3]).toHaveProperty('gap');
      expect(await metricValue(registry, 'falco_store_read_gaps_total')).toBe(1);
    } finally {
      await parts.close();
      await own.stop();
    }
  });

  // An entry as another writer (a replica of this service, a hand edit) writes it, with `json` as text.
  const entryArgs = (id: string, json: string) => {
    const now = String(Date.now());
    return [
      ...['id', id, 'at', now, 't', now, 'src', 'syscall', 'rule', 'R', 'pri', 'Notice'],
      ...['host', '', 'ns', '', 'tags', '', 'bytes', String(json.length), 'json', json],
    ];
  };
  const alertText = (output: string) =>
    JSON.stringify({ rule: 'R', priority: 'Notice', time: new Date().toISOString(), output });
  // Adds the entry at `streamId` ('*': Redis's next) to both streams of `prefix`; its stream id.
  const addEntry = (prefix: string, streamId: string, args: string[]) =>
    redis.cli(
      'EVAL',
      "local sid = redis.call('XADD', KEYS[1], ARGV[1], unpack(ARGV, 2)) " +
        "redis.call('XADD', KEYS[2], sid, unpack(ARGV, 2, #ARGV - 2)) return sid",
      '2',
      `${prefix}:alerts`,
      `${prefix}:alert-fields`,
      streamId,
      ...args,
    );

  // Regression: the reader read each entry's text whole (ingest's parser, 2-3 times JSON.parse alone)
  // before it looked whether it had published the entry already: after the walk of a stream made
  // again, every entry it read again cost that parse for nothing, and one whose text was no longer
  // an alert was counted and logged as unreadable, though it was left out as published.
  it('leaves out an entry it published already without reading its text, after the stream was made again', async () => {
    const prefix = 'published-again';
    const keys = redisKeys(prefix);
    const registry = new Registry();
    const metrics = createStoreMetrics(registry, { isUp: () => true, pending: () => 0 });
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const connection = connectTo(redis, 'reader');
    await untilUp(connection);
    const feed = createAlertFeed(() => undefined);
    const recorded = recordFeed(feed);
    const reader = startAlertReader({
      connection,
      keys,
      feed,
      metrics,
      logger,
      unreadable: skipUnreadableEntries(metrics, logger),
      blockMs: 100,
    });
    try {
      // The reader's start is Redis's clock less its own age: what is written now is after it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const texts = ['a', 'b', 'c'].map(alertText);
      const streamIds: string[] = [];
      for (const [index, text] of texts.entries())
        streamIds.push(await addEntry(prefix, '*', entryArgs(`alert-${index}`, text)));
      await expect.poll(() => recorded.ids()).toEqual(['alert-0', 'alert-1', 'alert-2']);
      const walks = async () =>
        Number(/cmdstat_xrevrange:calls=(\d+)/.exec(await redis.cli('INFO', 'commandstats'))?.[1] ?? 0);
      const walksBefore = await walks();

      // Made again with the first entry only (fewer entries ever added): the reader walks the new
      // stream back to the newest entry it published, and reads on after it.
      await redis.cli(
        'EVAL',
        "redis.call('DEL', KEYS[1], KEYS[2]) redis.call('XADD', KEYS[1], ARGV[1], unpack(ARGV, 2)) " +
          "redis.call('XADD', KEYS[2], ARGV[1], unpack(ARGV, 2, #ARGV - 2))",
        '2',
        keys.alerts,
        keys.fields,
        streamIds[0]!,
        ...entryArgs('alert-0', texts[0]!),
      );
      await expect.poll(walks).toBeGreaterThan(walksBefore);
      // The second alert again, under the stream id it had, its text now not an alert; then a new one.
      await addEntry(prefix, streamIds[1]!, entryArgs('alert-1', 'not an alert'));
      await addEntry(prefix, '*', entryArgs('alert-3', alertText('d')));
      await expect.poll(() => recorded.ids()).toContain('alert-3');

      expect(recorded.ids()).toEqual(['alert-0', 'alert-1', 'alert-2', 'alert-3']);
      expect(await metricValue(registry, 'falco_store_unreadable_entries_total')).toBe(0);
      expect(lines.filter((line) => line['event'] === 'store_entry_unreadable')).toEqual([]);
    } finally {
      reader.stop();
      await connection.close();
    }
  });

  // Regression: a read Redis refused was logged at debug only: with an ACL user without @blocking
  // (XREAD's category), 613 alerts were stored and none reached a live stream or trigger run, with
  // falco_store_up 1 and not a line at warn.
  it('says at warn, once a minute at most, that Redis refuses its read', async () => {
    await redis.cli('ACL', 'SETUSER', 'no-blocking', 'on', '>pw', '~*', '+@all', '-@blocking');
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const connection = createRedisConnection({
      config: {
        target: { kind: 'url', url: `redis://no-blocking:pw@127.0.0.1:${redis.port}` },
        keyPrefix: 'refused',
        retentionMs: 60_000,
        pendingMax: 10,
      },
      name: 'reader',
      logger: pino({ level: 'silent' }),
    });
    await untilUp(connection);
    const reader = startAlertReader({
      connection,
      keys: redisKeys('refused'),
      feed: createAlertFeed(() => undefined),
      metrics: { readGap: () => undefined },
      logger,
      unreadable: SKIP_UNREADABLE,
      blockMs: 100,
    });
    try {
      await expect.poll(() => lines.length).toBe(1);
      // Retried every 200 ms: no more lines within the minute.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(lines).toEqual([expect.objectContaining({ level: 40, event: 'store_read_refused', count: 1 })]);
      expect(JSON.stringify(lines[0]!['err'])).toMatch(/NOPERM/);
    } finally {
      reader.stop();
      await connection.close();
    }
  });

  // A master demoted to a replica (a failover: REPLICAOF, as Sentinel or an operator sends) answers
  // every blocked read UNBLOCKED ("instance state changed"), and a Redis loading its data at a
  // restart answers LOADING: neither is a refusal to warn of as an ACL's, which the reader's next
  // read (200 ms later) gets past. Before: store_read_refused at warn on every replica at each
  // failover, naming no cause but Redis refusing the live read.
  it('does not take a failover (UNBLOCKED) for a refusal', async () => {
    const other = await startRedis();
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const own = await startRedis();
    const connection = connectTo(own, 'reader');
    await untilUp(connection);
    const reader = startAlertReader({
      connection,
      keys: redisKeys('demoted-read'),
      feed: createAlertFeed(() => undefined),
      metrics: { readGap: () => undefined },
      logger,
      unreadable: SKIP_UNREADABLE,
      blockMs: 5_000,
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await own.cli('REPLICAOF', '127.0.0.1', String(other.port));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(lines.filter((line) => line['event'] === 'store_read_refused')).toEqual([]);
    } finally {
      reader.stop();
      await connection.close();
      await own.stop();
      await other.stop();
    }
  });

  // A replica cut from its master with replica-serve-stale-data no answers every read MASTERDOWN
  // for as long as that lasts (maybe for good), as a Redis running a script it cannot kill answers
  // BUSY: no alert reaches a live stream or trigger run meanwhile, with falco_store_up 1. Since
  // bf9f311 the connection rejects those as StoreUnavailableError (link kept), and the reader took
  // them all for a failover's or a restart's passing replies: not a line at warn (before: this one).
  it('says at warn that Redis keeps refusing its read as MASTERDOWN, unlike a passing failover', async () => {
    const own = await startRedis({ extraArgs: ['--replica-serve-stale-data', 'no'] });
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const connection = connectTo(own, 'reader');
    await untilUp(connection);
    // A master that never answers: the replica's link to it stays down.
    await own.cli('REPLICAOF', '127.0.0.1', String(await freePort()));
    const reader = startAlertReader({
      connection,
      keys: redisKeys('masterdown-read'),
      feed: createAlertFeed(() => undefined),
      metrics: { readGap: () => undefined },
      logger,
      unreadable: SKIP_UNREADABLE,
      blockMs: 100,
    });
    try {
      const refused = () => lines.filter((line) => line['event'] === 'store_read_refused');
      await expect.poll(() => refused().length, { timeout: 3_000 }).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(connection.isUp()).toBe(true);
      expect(refused()).toEqual([expect.objectContaining({ level: 40, count: 1 })]);
      expect(JSON.stringify(refused()[0]!['err'])).toMatch(/MASTERDOWN/);
    } finally {
      reader.stop();
      await connection.close();
      await own.stop();
    }
  });

  // The alerts queued while Redis restarts (every replica's) are written as soon as it is back, in
  // rounds of up to 8 x 256 per replica, and the reader's blocking read returns on the first of
  // them: its entries-added check then compares a count that already holds them. With more queued
  // than the stream had ever taken, the stream made again went unseen (no gap); so too after a
  // restart from a snapshot whenever more were queued than were lost.
  it.each([
    [
      'publishes a gap for a stream made again that took more alerts than the old one before its first read',
      false,
    ],
    [
      'publishes none when Redis came back with its data (appendonly) and took alerts before its first read',
      true,
    ],
    [
      'publishes a gap when Redis came back from a snapshot older than its last writes and took more alerts than it lost',
      'snapshot',
    ],
  ] as const)('%s', async (_name, persistence) => {
    const appendonly = persistence === true;
    const own = await startRedis({ appendonly });
    const { parts, feed: recorded } = await storeWithFeed('remade-more', 100, own);
    try {
      const before = [makeStoredAlert(), makeStoredAlert(), makeStoredAlert()];
      for (const entry of before) parts.store.add(entry);
      await parts.store.flush();
      await expect.poll(() => recorded.ids().length).toBe(3);
      // The snapshot holds these 3; 2 more are read and lost at the restart.
      const lost = persistence === 'snapshot' ? [makeStoredAlert(), makeStoredAlert()] : [];
      if (lost.length > 0) {
        await own.cli('SAVE');
        for (const entry of lost) parts.store.add(entry);
        await parts.store.flush();
        await expect.poll(() => recorded.ids().length).toBe(5);
      }

      await own.kill();
      // Queued while Redis is down, written once it is back: more than the old stream ever took.
      const queued = [makeStoredAlert(), makeStoredAlert(), makeStoredAlert(), makeStoredAlert()];
      for (const entry of queued) parts.store.add(entry);
      await own.restart();
      await expect.poll(() => recorded.ids().length, { timeout: 5_000 }).toBe(7 + lost.length);

      expect(recorded.ids()).toEqual([...before, ...lost, ...queued].map((entry) => entry.id));
      expect(recorded.gaps()).toHaveLength(appendonly ? 0 : 1);
      if (!appendonly) expect(recorded.seen[3 + lost.length]).toHaveProperty('gap');
    } finally {
      await parts.close();
      await own.stop();
    }
  });

  it('publishes a gap once when every alert after where it had read was removed, none left to read', async () => {
    const { recorded, counted, addRemoved, close } = await readerWithGaps('gap-empty');
    const removed = await addRemoved();
    await expect.poll(() => recorded.gaps().length).toBe(1);
    // Reads go on past it: it is not found again.
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(recorded.gaps()).toEqual([streamPosition(removed)]);
    expect(recorded.ids()).toEqual([]);
    expect(counted.gaps).toBe(1);
    await close();
  });
});
