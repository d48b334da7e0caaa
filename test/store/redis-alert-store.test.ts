import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAlertFeed } from '../../src/alerts/alert-feed.js';
import { createAlertStore } from '../../src/store/create-alert-store.js';
import { createPendingWrites } from '../../src/store/pending-writes.js';
import { toJson } from '../../src/alerts/serialize-alert.js';
import { summarizeWindow } from '../../src/http/dashboard/summarize-alerts.js';
import { capText, FIELD_CAP } from '../../src/store/capped-text.js';
import { PAGE_BYTES } from '../../src/store/page-size.js';
import { encodeAlertArgs, streamPosition } from '../../src/store/redis-alert-entry.js';
import type { ConnectionTimings } from '../../src/store/redis-connection.js';
import { addEntries, addRunPastLargeAlerts, bytesSentBy, entryFields } from '../helpers/redis-entries.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { readSummaryEntries } from '../helpers/summary-entries.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { metricValue } from '../helpers/test-app.js';

const hasRedis = redisAvailable();

// What both stores do is in test/alerts/alert-store-contract.test.ts; this is Redis's own.
describe.skipIf(!hasRedis)('the Redis alert store', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function connectedStore(
    bounds: { maxAlerts: number; maxBytes: number },
    keyPrefix: string,
    retentionMs: number,
    timings?: ConnectionTimings,
    seen: { logs?: Array<Record<string, unknown>>; feed?: ReturnType<typeof createAlertFeed> } = {},
  ) {
    const registry = new Registry();
    const { logs } = seen;
    const logger = logs
      ? pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) })
      : pino({ level: 'silent' });
    const parts = createAlertStore({
      config: {
        ...bounds,
        redis: { target: { kind: 'url', url: redis.url }, keyPrefix, retentionMs, pendingMax: 100 },
      },
      dedupWindowMs: 0,
      feed: seen.feed ?? createAlertFeed(() => undefined),
      registry,
      logger,
      timings,
    });
    const { store } = parts;
    for (let i = 0; i < 100 && !store.available(); i++) await new Promise((r) => setTimeout(r, 20));
    return { parts, store, registry };
  }

  // Regression: the dashboard's window was read as stream ids from this process's clock, though
  // Redis's clock stamps them: on a replica whose node ran an hour ahead of Redis's, "the last 15
  // minutes" (and "the last hour") read nothing and the Overview showed no alert at all.
  it("counts the dashboard's last 15 minutes when this process's clock runs an hour ahead of Redis's", async () => {
    // Only Date is faked: this process's clock; timers and Redis keep real time.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000, shouldAdvanceTime: true });
    const { parts, store } = await connectedStore(
      { maxAlerts: 100, maxBytes: 1e9 },
      'clock-ahead',
      86_400_000,
    );
    try {
      const receivedAtMs = Date.now();
      for (let i = 0; i < 2; i++) store.add(makeStoredAlert({}, { receivedAtMs }));
      await store.flush();
      const nowMs = Date.now();

      const summary = await summarizeWindow(store, '15m', nowMs, { held: 2, maxAlerts: 100 });

      expect(summary.total).toBe(2);
    } finally {
      vi.useRealTimers();
      await parts.close();
    }
  });

  describe("with this process's clock past STORE_RETENTION off Redis's", () => {
    const hour = 3_600_000;
    // Only Date is faked: this process's clock; timers and Redis keep real time.
    const runClock = (offsetMs: number) =>
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + offsetMs, shouldAdvanceTime: true });

    // Regression: reads kept alerts from STORE_RETENTION before this process's clock, though Redis's
    // clock stamps the stream ids (and the write script trims by it): a replica whose node ran two
    // hours ahead of Redis's (STORE_RETENTION 1h) listed nothing, found no alert by id and replayed
    // nothing after one, while every other replica answered with the alerts Redis held.
    it('lists, finds and replays the alerts Redis holds when its clock runs ahead', async () => {
      runClock(2 * hour);
      const { parts, store } = await connectedStore(
        { maxAlerts: 100, maxBytes: 1e9 },
        'retention-ahead',
        hour,
      );
      try {
        const [a, b] = [makeStoredAlert(), makeStoredAlert()];
        for (const entry of [a, b]) store.add(entry);
        await store.flush();

        expect((await store.query({ limit: 10 })).alerts.map((e) => e.id)).toEqual([b.id, a.id]);
        expect((await store.get(a.id))?.id).toBe(a.id);
        expect(await store.after(a.id, 10)).toEqual(
          expect.objectContaining({ alerts: [expect.objectContaining({ id: b.id })] }),
        );
        expect((await store.after(a.id, 10))?.gap).toBeUndefined();
      } finally {
        vi.useRealTimers();
        await parts.close();
      }
    });

    // Regression: the same, the other way: a replica whose node ran two hours behind listed and
    // found an alert past STORE_RETENTION on Redis's clock that every other replica left out.
    it('leaves out an alert past STORE_RETENTION on Redis clock when its clock runs behind', async () => {
      const prefix = 'retention-behind';
      const [seconds] = (await redis.cli('TIME')).split('\n');
      const old = makeStoredAlert();
      const fresh = makeStoredAlert();
      // Written by another replica: one 90 minutes old on Redis's clock, then one now.
      const oldId = `${Number(seconds) * 1000 - 1.5 * hour}-0`;
      const oldFields = entryFields(old.id, old.rule, '1000', toJson(old.alert));
      await redis.cli('XADD', `${prefix}:alerts`, oldId, ...oldFields);
      await redis.cli('XADD', `${prefix}:alert-fields`, oldId, ...oldFields.slice(0, -2));
      await redis.cli('HSET', `${prefix}:alert-ids`, old.id, oldId);
      const freshFields = entryFields(fresh.id, fresh.rule, '1000', toJson(fresh.alert));
      const freshId = await redis.cli('XADD', `${prefix}:alerts`, '*', ...freshFields);
      await redis.cli('XADD', `${prefix}:alert-fields`, freshId, ...freshFields.slice(0, -2));
      await redis.cli('HSET', `${prefix}:alert-ids`, fresh.id, freshId);
      runClock(-2 * hour);
      const { parts, store } = await connectedStore({ maxAlerts: 100, maxBytes: 1e9 }, prefix, hour);
      try {
        expect((await store.query({ limit: 10 })).alerts.map((e) => e.id)).toEqual([fresh.id]);
        expect(await store.get(old.id)).toBeUndefined();
        expect((await store.get(fresh.id))?.id).toBe(fresh.id);
      } finally {
        vi.useRealTimers();
        await parts.close();
      }
    });
  });

  // Regression: an entry whose tags were not JSON (written by hand, by another version, or a
  // corrupted write) made every list that passed over it, and every replay after an older alert,
  // fail for everyone until STORE_RETENTION removed it; the live reader said it as a refused read.
  it.each([
    ['alone', false],
    ['with its fields entry', true],
  ])(
    'skips an entry whose tags are not JSON in every read, written %s, counting it and logging it without its text',
    async (_, withFields) => {
      const logs: Array<Record<string, unknown>> = [];
      const feed = createAlertFeed(() => undefined);
      const live: string[] = [];
      feed.subscribe((entry) => live.push(entry.id));
      const { parts, store, registry } = await connectedStore(
        { maxAlerts: 100, maxBytes: 1e9 },
        `unreadable-${withFields}`,
        3_600_000,
        undefined,
        { logs, feed },
      );
      const before = makeStoredAlert({ rule: 'Good', tags: ['a'] });
      store.add(before);
      await store.flush();
      const now = String(Date.now());
      const fields = [
        ...['id', 'hand-written', 'at', now, 't', now, 'src', 'syscall', 'rule', 'Good', 'pri', 'Notice'],
        ...['host', 'node', 'ns', '', 'tags', 'hunter2 is not json', 'bytes', '2'],
      ];
      const streamId = await redis.cli(
        'XADD',
        `unreadable-${withFields}:alerts`,
        '*',
        ...fields,
        'json',
        '{}',
      );
      // The fields stream whole: lists filter its entries and read the kept ones' texts by id.
      if (withFields) await redis.cli('XADD', `unreadable-${withFields}:alert-fields`, streamId, ...fields);
      const after = makeStoredAlert({ rule: 'Good', tags: ['a'] });
      store.add(after);
      await store.flush();
      const unreadable = () => metricValue(registry, 'falco_store_unreadable_entries_total');
      expect(await redis.cli('XLEN', `unreadable-${withFields}:alert-fields`)).toBe(withFields ? '3' : '2');

      expect((await store.query({ limit: 10 })).alerts.map((e) => e.id)).toEqual([after.id, before.id]);
      expect((await store.query({ tag: 'a', limit: 10 })).alerts.map((e) => e.id)).toEqual([
        after.id,
        before.id,
      ]);
      expect((await store.get(after.id))?.id).toBe(after.id);
      expect(await readSummaryEntries(store, 0)).toHaveLength(3);
      expect((await store.after(before.id, 10))?.alerts.map((e) => e.id)).toEqual([after.id]);
      await vi.waitFor(() => expect(live).toEqual([before.id, after.id]));

      // Each read that passed over it (two lists, the replay, the live reader), in one line a minute.
      expect(await unreadable()).toBe(4);
      const lines = logs.filter((line) => line.event === 'store_entry_unreadable');
      expect(lines).toEqual([expect.objectContaining({ level: 40, count: 1 })]);
      expect(logs.filter((line) => line.event === 'store_read_refused')).toEqual([]);
      expect(JSON.stringify(logs)).not.toContain('hunter2');
      await parts.close();
    },
  );

  // Regression: an entry whose text was not readable was left out only after it had taken its place
  // in the read's limit and bytes: a replay of more than MAX_REPLAY alerts, or of more than
  // QUERY_MAX_BYTES, left older alerts out without the cut that tells its client (event: truncated),
  // and a list held fewer alerts than its limit with more in the store.
  it.each([
    ['alone', false],
    ['with its fields entry', true],
  ])(
    'reads past an entry whose text is not readable to fill the limit and bytes, written %s',
    async (_, withFields) => {
      const prefix = `unreadable-limit-${withFields}`;
      const { parts, store } = await connectedStore({ maxAlerts: 100, maxBytes: 1e9 }, prefix, 3_600_000);
      const [first, a, b] = [makeStoredAlert(), makeStoredAlert(), makeStoredAlert()];
      for (const entry of [first, a, b]) store.add(entry);
      await store.flush();
      const now = String(Date.now());
      const fields = [
        ...['id', 'not-an-alert', 'at', now, 't', now, 'src', 'syscall', 'rule', 'R', 'pri', 'Notice'],
        ...['host', '', 'ns', '', 'tags', '', 'bytes', '5000'],
      ];
      const streamId = await redis.cli('XADD', `${prefix}:alerts`, '*', ...fields, 'json', 'not json');
      if (withFields) await redis.cli('XADD', `${prefix}:alert-fields`, streamId, ...fields);
      const c = makeStoredAlert();
      store.add(c);
      await store.flush();
      const ids = (entries: Array<{ id: string }> | undefined) => entries?.map((entry) => entry.id);

      expect(ids((await store.query({ limit: 2 })).alerts)).toEqual([c.id, b.id]);
      expect(ids((await store.after(first.id, 2))?.alerts)).toEqual([b.id, c.id]);
      // 1,000 bytes each: the oldest crosses 2,500, so the reader sees the cut.
      expect(ids((await store.after(first.id, 10, 2_500))?.alerts)).toEqual([a.id, b.id, c.id]);
      await parts.close();
    },
  );

  // A store on `prefix` holding alerts `first` and `a`, then another writer's `count` entries whose
  // text is not JSON (1,000 bytes each, with their fields entries, in one call), then alert `c` (of
  // `newestBytes`; 1,000 as the others by default).
  async function storeWithUnreadableRun(
    prefix: string,
    count: number,
    maxAlerts: number,
    newestBytes = 1_000,
  ) {
    const { parts, store } = await connectedStore({ maxAlerts, maxBytes: 1e9 }, prefix, 3_600_000);
    const [first, a] = [makeStoredAlert(), makeStoredAlert()];
    for (const entry of [first, a]) store.add(entry);
    await store.flush();
    await addEntries(redis, prefix, count, entryFields('not-an-alert', 'R', '1000', 'not json'));
    const c = makeStoredAlert({}, { bytes: newestBytes });
    store.add(c);
    await store.flush();
    return { parts, store, first, a, c };
  }

  // Regression: the scan took a place in its bytes for each unreadable entry it kept, given back once
  // its text was read, and read its page again from there: past a run of them, a few alerts' bytes
  // each, it read the same entries page after page until it stopped at its bound on entries read,
  // short of the older alerts, and said nothing (no cut: no `event: truncated`, `truncated: false`).
  // A replay reads the alerts stream (9ba92ad); a list the fields stream, which has no texts.
  it('replays and lists past a run of entries whose text is not readable to the alerts before them', async () => {
    const prefix = 'unreadable-run';
    // 90 of them; STORE_MAX_ALERTS 100 keeps them all.
    const { parts, store, first, a, c } = await storeWithUnreadableRun(prefix, 90, 100);
    // The fields stream is whole: the list reads it.
    expect(await redis.cli('XLEN', `${prefix}:alert-fields`)).toBe('93');

    // 1,000 bytes each: both fit in 2,500, all three in 3,500.
    const read = await store.after(first.id, 10, 2_500);
    expect(read?.alerts.map((entry) => entry.id)).toEqual([a.id, c.id]);
    const listed = (await store.query({ limit: 10, maxBytes: 3_500 })).alerts;
    expect(listed.map((entry) => entry.id)).toEqual([c.id, a.id, first.id]);
    await parts.close();
  });

  // Regression: past a run of entries whose text is not readable, a list with room for one more
  // alert (its limit, or its bytes) read the kept entries' texts one entry a round trip, inside its
  // page turn: with 5,000 such entries two lists took 675 ms each and held other reads ~100 ms.
  // Round trips are counted by Redis itself (read events of its clients, INFO stats). Room left by
  // the bytes: `c` holds 64 KiB (QUERY_MAX_BYTES's least) of a list's 64 KiB + 500. A list reads no
  // more than its own bytes ahead: about 65 of the run's entries a read here (a list of 1,500
  // bytes, below any QUERY_MAX_BYTES, reads them one at a time).
  it.each([
    ['the limit', { limit: 2 }, 1_000],
    ['the bytes', { limit: 10, maxBytes: 65_536 + 500 }, 65_536],
  ])(
    'lists past a run of 2,000 entries whose text is not readable in few round trips, with room left by %s',
    async (_, query, newestBytes) => {
      // STORE_MAX_ALERTS 3,000: the scan's bound on entries read (about 6,000) is past the run.
      const prefix = `unreadable-long-run-${query.limit}`;
      const { parts, store, a, c } = await storeWithUnreadableRun(prefix, 2_000, 3_000, newestBytes);
      const readEvents = async () =>
        Number(/^total_reads_processed:(\d+)/m.exec(await redis.cli('INFO', 'stats'))?.[1]);
      const before = await readEvents();

      const read = await store.query(query);
      const roundTrips = (await readEvents()) - before;

      expect(read.alerts.map((entry) => entry.id)).toEqual([c.id, a.id]);
      expect(read.cut).toBeUndefined();
      // Pages of up to 500 entries: a few reads each, not one an entry.
      expect(roundTrips).toBeLessThan(100);
      await parts.close();
    },
  );

  // The bytes Redis sends (INFO stats) for a list of one alert of rule R past 560 of another
  // writer's entries whose text is not JSON (the fields stream's pages: 16 entries, then 500), with
  // 100 older alerts ingest accepts, of 100 KB each, whose `bytes` is `bytes` (by default their
  // text's own size); each entry with its fields entry. The list's answer is the newest of those;
  // `maxBytes` is its own (QUERY_MAX_BYTES), `readAheadBytes` what it was admitted for, none by
  // default.
  async function bytesSentListingPastRun(
    prefix: string,
    options: { bytes?: string; maxBytes?: number; readAheadBytes?: number } = {},
  ) {
    const feed = createAlertFeed(() => undefined);
    const live: string[] = [];
    feed.subscribe((entry) => live.push(entry.id));
    const { parts, store } = await connectedStore(
      { maxAlerts: 3_000, maxBytes: 1e9 },
      prefix,
      3_600_000,
      undefined,
      { feed },
    );
    await addRunPastLargeAlerts(redis, prefix, options.bytes);
    // Another rule's, newest: once the live reader published it, it read every text before it.
    const c = makeStoredAlert({ rule: 'Other' });
    store.add(c);
    await store.flush();
    await vi.waitFor(() => expect(live).toContain(c.id));
    const before = await bytesSentBy(redis);

    const read = await store.query({
      limit: 1,
      rule: 'R',
      maxBytes: options.maxBytes,
      readAheadBytes: options.readAheadBytes,
    });
    const sentBytes = (await bytesSentBy(redis)) - before;

    await parts.close();
    return { ids: read.alerts.map((entry) => entry.id), sentBytes };
  }

  // Regression: the read-ahead past a run of unreadable entries bounded its bytes by the fields
  // stream's `bytes`, which counts none for another writer's that is not a count (entry-fields.ts):
  // a list of one alert past 560 such entries read the texts of the 100 older alerts at once (10 MB
  // sent in all), where it read one before the read-ahead (0.4 MB).
  it('reads ahead no texts of entries whose bytes is not a count, past a run of unreadable entries', async () => {
    const { ids, sentBytes } = await bytesSentListingPastRun('read-ahead-bad-bytes', { bytes: 'many' });

    expect(ids).toEqual(['large']);
    // One text of 100 KB, the run's entries and the fields pages: well under a MB.
    expect(sentBytes).toBeLessThan(1_000_000);
  });

  // Regression: that bound took another writer's `bytes` that is a count for the text's size: at
  // `1` for texts of 100 KB, a list of one alert past the run read the 100 of them ahead all the
  // same (10 MB sent), where it read one before the read-ahead (0.4 MB). Read ahead, texts are
  // measured in Redis now: about PAGE_BYTES of them at most, as with counts that are right.
  it('reads ahead about PAGE_BYTES of texts at most whose bytes is a count far below their size', async () => {
    const { ids, sentBytes } = await bytesSentListingPastRun('read-ahead-low-bytes', { bytes: '1' });

    expect(ids).toEqual(['large']);
    // PAGE_BYTES of texts read ahead at most, and under a MB besides (the test above): what the
    // list sends with the texts' own counts as well (4.4 MB here), against 10.3 MB before.
    expect(sentBytes).toBeLessThan(PAGE_BYTES + 1_000_000);
  });

  // Regression: bounded by PAGE_BYTES alone, the read-ahead of a list with a small byte bound past
  // the run read about 4 MB of the texts behind it (4.4 MB sent in all, 0.4 MB before the
  // read-ahead), past what the list was admitted for in the readers' budget (alerts.ts). It reads
  // ahead no more than the list's own bytes now.
  it('reads ahead no more texts than its own byte bound, past a run of unreadable entries', async () => {
    const maxBytes = 200_000;
    const { ids, sentBytes } = await bytesSentListingPastRun('read-ahead-own-bytes', { maxBytes });

    expect(ids).toEqual(['large']);
    // The list's bytes of texts read ahead at most (its one text among them), besides the run's
    // entries and the fields pages (0.31 MB: what it sends without reading ahead, less that text).
    expect(sentBytes).toBeLessThan(maxBytes + 400_000);
  });

  // Regression: a list's read-ahead was bounded by its maxBytes (QUERY_MAX_BYTES), not by what the
  // list was admitted for in the readers' budget (alerts.ts: a list of one alert, one body): past
  // the run it read 4 MB of texts ahead (4.4 MB sent in all), its answer the same as without.
  it('reads ahead no more texts than its readAheadBytes, past a run of unreadable entries, its answer unchanged', async () => {
    const readAheadBytes = 200_000;
    const { ids, sentBytes } = await bytesSentListingPastRun('read-ahead-admitted', {
      maxBytes: 8 * 1024 * 1024,
      readAheadBytes,
    });

    expect(ids).toEqual(['large']);
    // As bounded by its own bytes of 200 KB (the test above).
    expect(sentBytes).toBeLessThan(readAheadBytes + 400_000);
  });

  // Regression: a readAheadBytes that is not a number (NaN, from a caller's arithmetic) made the
  // read-ahead's bound NaN (Math.min), which no sum exceeds, in the scan and in READ_AHEAD_SCRIPT
  // (Lua's tonumber('NaN')): past the run the list read the 100 texts of 100 KB behind it at once
  // (10 MB sent), past PAGE_BYTES and its own bytes. It bounds nothing then, as when absent.
  it('reads ahead within its own bytes when its readAheadBytes is not a number', async () => {
    const maxBytes = 200_000;
    const { ids, sentBytes } = await bytesSentListingPastRun('read-ahead-nan', {
      maxBytes,
      readAheadBytes: Number.NaN,
    });

    expect(ids).toEqual(['large']);
    expect(sentBytes).toBeLessThan(maxBytes + 400_000);
  });

  // Regression: a read summed each entry's stored `bytes` as it was: another writer's that is not a
  // count (not a number, negative, infinite) made the sum NaN, or past any bound, and the reads'
  // byte caps never stopped a read past it (nor the readers' budget, NaN); the live reader asked
  // Redis for `COUNT NaN` entries, refused, and published no alert again.
  it.each([
    ['not a number', 'many'],
    ['negative', '-1000000000'],
    ['infinite', 'Infinity'],
  ])(
    'counts an entry whose bytes is %s as its text, in the byte caps and the live reader',
    async (_, bytes) => {
      const feed = createAlertFeed(() => undefined);
      const live: string[] = [];
      feed.subscribe((entry) => live.push(entry.id));
      for (const withFields of [false, true]) {
        const prefix = `bad-bytes-${bytes}-${withFields}`;
        live.length = 0;
        const { parts, store } = await connectedStore(
          { maxAlerts: 100, maxBytes: 1e9 },
          prefix,
          3_600_000,
          undefined,
          { feed },
        );
        const [first, a] = [makeStoredAlert(), makeStoredAlert()];
        for (const entry of [first, a]) store.add(entry);
        await store.flush();
        // An alert ingest accepts: only its `bytes` is another writer's.
        const alert = {
          rule: 'R',
          priority: 'Notice',
          source: 'syscall',
          time: new Date().toISOString(),
          output: 'x'.repeat(800),
        };
        const text = JSON.stringify(alert);
        const now = String(Date.now());
        const fields = [
          ...['id', 'bad-bytes', 'at', now, 't', now, 'src', 'syscall', 'rule', 'R', 'pri', 'Notice'],
          ...['host', '', 'ns', '', 'tags', '', 'bytes', bytes],
        ];
        const streamId = await redis.cli('XADD', `${prefix}:alerts`, '*', ...fields, 'json', text);
        if (withFields) await redis.cli('XADD', `${prefix}:alert-fields`, streamId, ...fields);
        const b = makeStoredAlert();
        store.add(b);
        await store.flush();
        await vi.waitFor(() => expect(live).toContain(b.id));
        const seen = (entries: Array<{ id: string; bytes: number }> | undefined) =>
          entries?.map(({ id, bytes: size }) => [id, size]);

        // 1,000 bytes, then its text's 800-odd: past 1,500, the read ends there. From the fields
        // stream it counts none until its text is read: the read ends one alert later.
        const own = Buffer.byteLength(text);
        expect(seen((await store.query({ limit: 10, maxBytes: 1_500 })).alerts)).toEqual([
          [b.id, 1000],
          ['bad-bytes', own],
          ...(withFields ? [[a.id, 1000]] : []),
        ]);
        expect(seen((await store.after(first.id, 10, 1_500))?.alerts)).toEqual([
          ['bad-bytes', own],
          [b.id, 1000],
        ]);
        const c = makeStoredAlert();
        store.add(c);
        await store.flush();
        await vi.waitFor(() => expect(live).toContain(c.id));
        await parts.close();
      }
    },
  );

  it('drops alerts older than STORE_RETENTION from the stream and from the id index', async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 100, maxBytes: 1e9 }, 'age', 1_000);
    const old = makeStoredAlert();
    store.add(old);
    await store.flush();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const fresh = makeStoredAlert();
    store.add(fresh);
    await store.flush();

    expect((await store.query({ limit: 10 })).alerts.map((e) => e.id)).toEqual([fresh.id]);
    expect(await store.get(old.id)).toBeUndefined();
    expect(await redis.cli('HLEN', 'age:alert-ids')).toBe('1');
    expect(await redis.cli('XLEN', 'age:alerts')).toBe('1');
    expect(await redis.cli('XLEN', 'age:alert-fields')).toBe('1');
    await parts.close();
  });

  it('leaves alerts older than STORE_RETENTION out of every read even when nothing is written after them', async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 100, maxBytes: 1e9 }, 'age-read', 1_000);
    const first = makeStoredAlert();
    const old = makeStoredAlert();
    store.add(first);
    store.add(old);
    await store.flush();
    expect((await store.query({ limit: 10 })).alerts.map((e) => e.id)).toEqual([old.id, first.id]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    expect((await store.query({ limit: 10 })).alerts).toEqual([]);
    expect(await store.get(old.id)).toBeUndefined();
    expect((await store.after(first.id, 10))?.alerts).toEqual([]);
    expect(await readSummaryEntries(store, 0)).toEqual([]);
    // Still in Redis (nothing was written to trim it): only the reads skip it.
    expect(await redis.cli('XLEN', 'age-read:alerts')).toBe('2');
    await parts.close();
  });

  it('keeps one read within STORE_MAX_BYTES and reads only the summary fields for the dashboard', async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 1000, maxBytes: 10_000 }, 'bytes', 3_600_000);
    // Ten alerts of 3,000 received bytes each: 30,000 in Redis, a third of it per read.
    const added = Array.from({ length: 10 }, () => makeStoredAlert({}, { bytes: 3_000 }));
    // Written one by one: the queue of unwritten alerts holds at most STORE_MAX_BYTES too.
    for (const entry of added) {
      store.add(entry);
      await store.flush();
    }
    expect(await store.count()).toBe(10);

    const listed = (await store.query({ limit: 10 })).alerts;
    expect(listed.map((e) => e.id)).toEqual(
      added
        .slice(-3)
        .reverse()
        .map((e) => e.id),
    );
    expect((await store.after(added[0]!.id, 100))!.alerts.map((e) => e.id)).toEqual(
      added.slice(-3).map((e) => e.id),
    );
    const summary = await readSummaryEntries(store, 0);
    expect(summary).toHaveLength(10);
    expect(Object.keys(summary[0]!).sort()).toEqual(['priority', 'receivedAtMs', 'rule']);
    await parts.close();
  });

  // A stream replay drops what the live reader publishes up to there (the reader runs behind reads).
  it('says where a read after an id ended: the newest alert it saw, or the id itself when none came after', async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 100, maxBytes: 1e9 }, 'through', 3_600_000);
    const added = [makeStoredAlert(), makeStoredAlert(), makeStoredAlert()];
    for (const entry of added) store.add(entry);
    await store.flush();
    const positionOf = async (id: string) => streamPosition(await redis.cli('HGET', 'through:alert-ids', id));

    // Limited to the newest one: the read still saw up to it.
    expect(await store.after(added[0]!.id, 1)).toEqual({
      alerts: [expect.objectContaining({ id: added[2]!.id })],
      through: await positionOf(added[2]!.id),
    });
    expect(await store.after(added[2]!.id, 10)).toEqual({
      alerts: [],
      through: await positionOf(added[2]!.id),
    });
    await parts.close();
  });

  // A replay whose alerts were trimmed while it read says so (a reconnecting client is told it missed some).
  it('says a read after an id has a gap when the stream was trimmed past the id meanwhile, and none otherwise', async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 100, maxBytes: 1e9 }, 'gap', 3_600_000);
    const first = Array.from({ length: 5 }, () => makeStoredAlert());
    const later = Array.from({ length: 10 }, () => makeStoredAlert());
    for (const entry of [...first, ...later]) store.add(entry);
    await store.flush();

    // The streams trimmed past the id and the nine after it while its id is still known: what a
    // read finds when a burst trims them between its look-up of the id and its scan (written
    // meanwhile by the store itself, which one run in a loaded CI saw land after the scan instead).
    for (const key of ['gap:alerts', 'gap:alert-fields']) await redis.cli('XTRIM', key, 'MAXLEN', '5');
    const read = await store.after(first[0]!.id, 100);

    expect(read?.gap).toBe(true);
    expect(read?.alerts.map((entry) => entry.id)).toEqual(later.slice(5).map((entry) => entry.id));
    const whole = await store.after(later[6]!.id, 100);
    expect(whole?.gap).toBeUndefined();
    expect(whole?.alerts.map((entry) => entry.id)).toEqual(later.slice(7).map((entry) => entry.id));
    await parts.close();
  });

  // Regression: a filter that matched nothing, and the dashboard's counts, pulled every alert's text
  // through the connection (2,000 alerts of 64 KB: 890 ms of CPU for one GET /alerts?rule=...).
  it('reads the texts of the alerts a list returns only, and none for the summary', async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 100, maxBytes: 1e9 }, 'texts', 3_600_000);
    const big = (rule: string) => {
      const alert = {
        rule,
        priority: 'Notice' as const,
        time: '2026-06-15T09:31:44.611Z',
        output: 'x'.repeat(64 * 1024),
      };
      return makeStoredAlert(alert, { json: JSON.stringify(alert), bytes: 66_000 });
    };
    const added = Array.from({ length: 40 }, (_, i) => big(i % 10 === 0 ? 'Rare' : 'Common'));
    for (const entry of added) store.add(entry);
    await store.flush();
    // Written and fed to the live reader: what Redis sends from here on is the reads'.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sent = async () =>
      Number(/total_net_output_bytes:(\d+)/.exec(await redis.cli('INFO', 'stats'))?.[1]);

    const before = await sent();
    const none = (await store.query({ rule: 'no-such-rule', limit: 100 })).alerts;
    const summary = await readSummaryEntries(store, 0);
    const afterScans = await sent();
    const rare = (await store.query({ rule: 'Rare', limit: 100 })).alerts;
    const afterRare = await sent();

    expect(none).toEqual([]);
    expect(summary).toHaveLength(40);
    // 2.6 MB of texts in the stream; the fields of 40 alerts are a few KB.
    expect(afterScans - before).toBeLessThan(64 * 1024);
    expect(rare.map((e) => e.id)).toEqual(
      added
        .filter((e) => e.rule === 'Rare')
        .reverse()
        .map((e) => e.id),
    );
    expect(rare[0]!.json).toBe(added[30]!.json);
    expect(afterRare - afterScans).toBeLessThan(5 * 66_000);
    await parts.close();
  });

  // Regression (security review): the summary read the name of each long rule it listed from one
  // of its alerts, to send it whole: 12 alerts of 1.79 MB rules made Redis send 17.9 MB per summary.
  it('summarizes alerts of long rules without reading their names from the alerts', async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 100, maxBytes: 1e9 }, 'long-rules', 3_600_000);
    const rules = Array.from(
      { length: 12 },
      (_, i) => `R${String(i).padStart(2, '0')}x${'x'.repeat(1_790_000)}`,
    );
    for (const rule of rules) store.add(makeStoredAlert({ rule }));
    await store.flush();
    const sent = async () =>
      Number(/total_net_output_bytes:(\d+)/.exec(await redis.cli('INFO', 'stats'))?.[1]);
    // The store's own live reader reads the new entries (21 MB) after the writes: measured from
    // once Redis has sent nothing for 300 ms (a fixed 300 ms wait counted 1.5 MB of it on a loaded
    // machine). INFO's own answer is about 2 KB.
    let before = await sent();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const now = await sent();
      if (now - before < 8 * 1024) break;
      before = now;
    }
    before = await sent();
    const summary = await summarizeWindow(store, '1h', makeStoredAlert().receivedAtMs + 1000, {
      held: 12,
      maxAlerts: 100,
    });
    const after = await sent();

    expect(summary.topRules.map((row) => [row.rule.length, row.truncated])).toEqual(
      Array.from({ length: 10 }, () => [1024, true]),
    );
    // The fields of 12 alerts (rules capped to about 1 KB each); each name is 1.79 MB.
    expect(after - before).toBeLessThan(64 * 1024);
    await parts.close();
  });

  // Regression (review of the paced summary): the read kept a Map of its own from each rule read to
  // one copy of it, for the entries it gathered; counted as read, it gathered none, and that Map grew
  // as the summary's did, in one piece per doubling (57 ms at 262,144 distinct rules).
  it('counts a window of 20,000 distinct rules keeping no Map of 16,384 rules or more', async () => {
    const { parts, store } = await connectedStore(
      { maxAlerts: 20_000, maxBytes: 1e9 },
      'distinct-rules',
      3_600_000,
    );
    const fields = entryFields('other', 'R', '100', '{}');
    await redis.cli(
      'EVAL',
      "for i = 1, 20000 do local f = {unpack(ARGV)} f[10] = 'Rule ' .. i " +
        "local sid = redis.call('XADD', KEYS[1], '*', unpack(f)) " +
        "redis.call('XADD', KEYS[2], sid, unpack(f, 1, #f - 2)) end",
      '2',
      'distinct-rules:alerts',
      'distinct-rules:alert-fields',
      ...fields,
    );
    const set = vi.spyOn(Map.prototype, 'set');
    try {
      const summary = await summarizeWindow(store, '15m', Date.now() + 1000, {
        held: 20_000,
        maxAlerts: 20_000,
      });
      const largest = Math.max(
        ...[...new Set(set.mock.contexts)].map((map) => (map as Map<unknown, unknown>).size),
      );

      expect(summary.total).toBe(20_000);
      expect(summary.unlistedMax).toBe(1);
      expect(largest).toBeLessThan(16_384);
    } finally {
      set.mockRestore();
      await parts.close();
    }
  });

  it('lists and counts alerts written by a version without the fields stream, reading their texts', async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 3, maxBytes: 1e9 }, 'skew', 3_600_000);
    const older = [makeStoredAlert({ rule: 'Old' }), makeStoredAlert({ rule: 'Old' })];
    for (const entry of older) store.add(entry);
    await store.flush();
    // As an older version wrote them: no fields entries.
    await redis.cli('DEL', 'skew:alert-fields');
    const newer = [makeStoredAlert({ rule: 'New' }), makeStoredAlert({ rule: 'New' })];
    for (const entry of newer) store.add(entry);
    await store.flush();

    // STORE_MAX_ALERTS 3: the oldest went, from both streams.
    expect(await redis.cli('XLEN', 'skew:alerts')).toBe('3');
    expect(await redis.cli('XLEN', 'skew:alert-fields')).toBe('2');
    expect((await store.query({ rule: 'Old', limit: 10 })).alerts.map((e) => e.id)).toEqual([older[1]!.id]);
    expect((await readSummaryEntries(store, 0)).map((e) => e.rule)).toEqual(['New', 'New', 'Old']);
    // The last alert without fields is trimmed: the streams are whole again.
    store.add(makeStoredAlert({ rule: 'New' }));
    await store.flush();
    expect(await redis.cli('XLEN', 'skew:alert-fields')).toBe('3');
    expect((await store.query({ rule: 'Old', limit: 10 })).alerts.length).toBe(0);
    expect((await store.query({ rule: 'New', limit: 10 })).alerts.length).toBe(3);
    await parts.close();
  });

  // Regression: the fields stream held rule, source, hostname, namespace and tags whole, so with
  // 720 alerts of 100 KB rule names every list that matched nothing and every count read 72 MB.
  it("keeps each entry's fields within the cap, whatever the alert holds, and lists it whole", async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 100, maxBytes: 1e9 }, 'capped', 3_600_000);
    const huge = (head: string) => head + 'r'.repeat(100_000);
    const entry = makeStoredAlert({
      rule: huge('Rule'),
      hostname: huge('host'),
      source: huge('src'),
      tags: [huge('tag')],
      output_fields: { 'k8s.ns.name': huge('ns') },
    });
    store.add(entry);
    await store.flush();

    const longest = async (key: string) =>
      Math.max(...(await redis.cli('XRANGE', key, '-', '+')).split('\n').map((line) => line.length));
    expect(await longest('capped:alert-fields')).toBeLessThanOrEqual(FIELD_CAP + 44);
    // In the alerts stream only the JSON is whole.
    expect(await redis.cli('XLEN', 'capped:alerts')).toBe('1');
    const [read] = (await store.query({ rule: huge('Rule'), tag: huge('tag'), limit: 1 })).alerts;
    expect(read?.json).toBe(toJson(entry.alert));
    expect([read?.rule, read?.hostname, read?.source, read?.namespace, read?.tags]).toEqual([
      huge('Rule'),
      huge('host'),
      huge('src'),
      huge('ns'),
      [huge('tag')],
    ]);
    await parts.close();
  });

  it('filters and names the long texts of alerts an earlier version wrote whole', async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 100, maxBytes: 1e9 }, 'whole', 3_600_000);
    const rule = 'Rule' + 'r'.repeat(5_000);
    const older = makeStoredAlert({ rule, tags: ['t'.repeat(2_000)] });
    // As that version wrote it: every text whole, in both streams.
    const fields = encodeAlertArgs(older, '').slice(0, -1);
    fields[4] = rule;
    fields[8] = JSON.stringify(older.tags);
    const names = ['id', 'at', 't', 'src', 'rule', 'pri', 'host', 'ns', 'tags', 'bytes', 'json'];
    const pairs = names.flatMap((name, i) => [name, fields[i]!]);
    const sid = await redis.cli('XADD', 'whole:alerts', '*', ...pairs);
    await redis.cli('XADD', 'whole:alert-fields', sid, ...pairs.slice(0, -2));
    await redis.cli('HSET', 'whole:alert-ids', older.id, sid);

    expect((await store.query({ rule, limit: 5 })).alerts.map((e) => e.id)).toEqual([older.id]);
    expect((await store.query({ rule: rule + 'r', limit: 5 })).alerts.map((e) => e.id)).toEqual([]);
    expect((await store.query({ tag: 't'.repeat(2_000), limit: 5 })).alerts.map((e) => e.id)).toEqual([
      older.id,
    ]);
    expect((await readSummaryEntries(store, 0)).map((e) => e.rule)).toEqual([capText(rule)]);
    await parts.close();
  });

  // Regression: a version before the namespace read ka.target.namespace (a130acb) wrote a k8saudit
  // alert's `ns` empty, and one still running in a rolling update does: after the upgrade
  // namespace=default left out the audit alerts already in Redis, though the dashboard's row names
  // that namespace, and namespace= listed them.
  it('finds by namespace a k8saudit alert an earlier version wrote without it', async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 100, maxBytes: 1e9 }, 'audit-ns', 3_600_000);
    const older = makeStoredAlert({
      rule: 'Attach/Exec Pod',
      source: 'k8s_audit',
      output_fields: { 'ka.target.name': 'nginx', 'ka.target.namespace': 'default' },
    });
    const fields = encodeAlertArgs({ ...older, namespace: undefined }, '').slice(0, -1);
    const names = ['id', 'at', 't', 'src', 'rule', 'pri', 'host', 'ns', 'tags', 'bytes', 'json'];
    const pairs = names.flatMap((name, i) => [name, fields[i]!]);
    const sid = await redis.cli('XADD', 'audit-ns:alerts', '*', ...pairs);
    await redis.cli('XADD', 'audit-ns:alert-fields', sid, ...pairs.slice(0, -2));
    await redis.cli('HSET', 'audit-ns:alert-ids', older.id, sid);

    const found = (await store.query({ namespace: 'default', limit: 5 })).alerts;
    expect(found.map((e) => [e.id, e.namespace])).toEqual([[older.id, 'default']]);
    expect((await store.query({ namespace: '', limit: 5 })).alerts).toEqual([]);
    await parts.close();
  });

  // Regression: with the two streams of one length the fields were trusted whole, but a replica of
  // the version before them (a rollback, or the old pods of a rolling update) adds to the stream
  // and trims it without touching the fields: lists left its alerts out, and the summary counted
  // the alert it had trimmed, until a replica of this version wrote again.
  it('lists and counts an alert a version without the fields stream wrote once the fields were whole', async () => {
    const { parts, store } = await connectedStore({ maxAlerts: 3, maxBytes: 1e9 }, 'mixed', 3_600_000);
    const newer = [1, 2, 3].map(() => makeStoredAlert({ rule: 'New' }));
    for (const entry of newer) store.add(entry);
    await store.flush();
    expect(await redis.cli('XLEN', 'mixed:alert-fields')).toBe('3');

    // As the version before wrote one: into the stream and its id index, trimming the oldest.
    const older = makeStoredAlert({ rule: 'Old' });
    const fields = encodeAlertArgs(older, '').slice(0, -1);
    const names = ['id', 'at', 't', 'src', 'rule', 'pri', 'host', 'ns', 'tags', 'bytes', 'json'];
    const sid = await redis.cli(
      'XADD',
      'mixed:alerts',
      '*',
      ...names.flatMap((name, i) => [name, fields[i]!]),
    );
    await redis.cli('HSET', 'mixed:alert-ids', older.id, sid);
    const [oldest] = (await redis.cli('XRANGE', 'mixed:alerts', '-', '+', 'COUNT', '1')).split('\n');
    await redis.cli('XDEL', 'mixed:alerts', oldest!);
    await redis.cli('HDEL', 'mixed:alert-ids', newer[0]!.id);

    const expected = [older, newer[2]!, newer[1]!];
    expect((await store.query({ limit: 10 })).alerts.map((e) => e.id)).toEqual(expected.map((e) => e.id));
    expect((await store.query({ rule: 'Old', limit: 10 })).alerts.map((e) => e.id)).toEqual([older.id]);
    expect((await readSummaryEntries(store, 0)).map((e) => e.rule)).toEqual(['Old', 'New', 'New']);
    await parts.close();
  });

  // Regression: the gauge followed the writing link only, which sends nothing on a replica that gets
  // no alerts, so it read 1 through a whole hang while the reader's link had already seen it.
  it('reports falco_store_up 0 while Redis hangs on a replica that receives nothing, and 1 once it answers', async () => {
    const timings = { commandTimeoutMs: 500, minBackoffMs: 50, maxBackoffMs: 200 };
    const { parts, registry } = await connectedStore(
      { maxAlerts: 10, maxBytes: 1e6 },
      'idle',
      60_000,
      timings,
    );
    const up = async () => Number(/^falco_store_up (\S+)$/m.exec(await registry.metrics())?.[1]);
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    for (let i = 0; i < 100 && (await up()) !== 1; i++) await sleep(20);
    expect(await up()).toBe(1);
    redis.child().kill('SIGSTOP');
    try {
      // The reader's blocking read (2 s) and its deadline (500 ms) have passed.
      await sleep(3_000);
      expect(await up()).toBe(0);
    } finally {
      redis.child().kill('SIGCONT');
    }
    for (let i = 0; i < 100 && (await up()) !== 1; i++) await sleep(50);
    expect(await up()).toBe(1);
    await parts.close();
  });

  it('bounds the queue of unwritten alerts by bytes as well as by count, dropping the oldest', () => {
    const queue = createPendingWrites(100, 10_000);
    const write = (id: string, bytes: number) => ({ id, args: [], bytes });
    expect(queue.push(write('a', 4_000))).toEqual([]);
    expect(queue.push(write('b', 4_000))).toEqual([]);
    expect(queue.push(write('c', 4_000)).map((w) => w.id)).toEqual(['a']);
    // One alert larger than the bound alone still waits (the newest is always kept).
    expect(queue.push(write('d', 20_000)).map((w) => w.id)).toEqual(['b', 'c']);
    expect(queue.size()).toBe(1);
    const taken = queue.take(10, 1e9);
    // Put back after a failed write, over the bytes bound: the oldest goes, the newest stays.
    expect(queue.giveBack([...taken, write('e', 1)])).toBe(1);
    expect(queue.push(write('f', 9_000))).toEqual([]);
    expect(queue.size()).toBe(2);
  });
});
