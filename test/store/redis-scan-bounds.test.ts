import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSseClient } from '../helpers/sse-client.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const hasRedis = redisAvailable();

let redis: TestRedis;
beforeAll(async () => {
  if (hasRedis) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

// Posts a Falco alert whose output makes it unique (no dedup): the id it was given.
const postAlert = async (receiver: TestReceiver, output: string) => {
  const alert = { rule: 'R', priority: 'Notice', source: 'syscall', time: new Date().toISOString(), output };
  const res = await fetch(`http://127.0.0.1:${receiver.port}/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(alert),
  });
  expect(res.status).toBe(202);
  return res.headers.get('x-alert-id')!;
};

// Resolves once the newest alert listed is `id`: lists answer 503 until the store's link is up, and
// ingest queues the alerts meanwhile.
const untilNewest = (receiver: TestReceiver, id: string) =>
  expect
    .poll(async () => {
      const res = await fetch(`http://127.0.0.1:${receiver.port}/alerts?limit=1`);
      return res.status === 200
        ? ((await res.json()) as { alerts: Array<{ id: string }> }).alerts[0]?.id
        : res.status;
    })
    .toBe(id);

// Writes an alert into the stream as another replica would (no trim): the newest, so a replay that
// has sent it has sent all it holds. Its id.
let markers = 0;
async function writeMarker(prefix: string): Promise<string> {
  const id = `marker-${++markers}`;
  const now = String(Date.now());
  const text = JSON.stringify({ rule: 'R', priority: 'Notice', time: new Date().toISOString(), output: id });
  const fields = [
    ...['id', id, 'at', now, 't', now, 'src', 'syscall', 'rule', 'R', 'pri', 'Notice'],
    ...['host', '', 'ns', '', 'tags', '', 'bytes', String(text.length)],
  ];
  const streamId = await redis.cli('XADD', `${prefix}:alerts`, '*', ...fields, 'json', text);
  await redis.cli('XADD', `${prefix}:alert-fields`, streamId, ...fields);
  return id;
}

// What a client is told of a list, both downloads and a replay after `lastId`.
async function readAll(receiver: TestReceiver, prefix: string, lastId: string) {
  const get = (path: string) => fetch(`http://127.0.0.1:${receiver.port}${path}`);
  const list = await get('/alerts?limit=100');
  expect(list.status).toBe(200);
  const listed = (await list.json()) as { alerts: Array<{ id: string }>; truncated?: boolean };
  // One at a time: each reserves its share of the address's read budget.
  const downloads: Array<string | null> = [];
  for (const format of ['csv', 'ndjson']) {
    const res = await get(`/alerts?limit=100&format=${format}`);
    expect(res.status).toBe(200);
    await res.text();
    downloads.push(res.headers.get('x-alerts-truncated'));
  }
  const replay = await openSseClient(receiver.port, { 'Last-Event-ID': lastId });
  const marker = await writeMarker(prefix);
  while (!replay.ids.includes(marker)) await new Promise((resolve) => setTimeout(resolve, 20));
  replay.close();
  return {
    listed: listed.alerts.map((alert) => alert.id).filter((id) => !id.startsWith('marker-')),
    truncated: listed.truncated,
    downloads,
    replayed: replay.ids.filter((id) => !id.startsWith('marker-')),
    replayTruncatedAt: replay.truncatedAt,
  };
}

// Regression: a shared store's read that stopped at its own bounds (STORE_MAX_BYTES of alerts kept;
// about 2 x STORE_MAX_ALERTS entries read, which a run of unreadable entries fills) ended short of
// older alerts without a word: the list said no `truncated`, the downloads no X-Alerts-Truncated,
// the replay no `event: truncated`, so the client took a cut answer for the whole.
describe.skipIf(!hasRedis)("a shared store's read that stops at its own bound", () => {
  it('is told as a cut when it reaches STORE_MAX_BYTES before older alerts', async () => {
    const receiver = await startReceiver({
      env: {
        STORE_URL: redis.url,
        STORE_KEY_PREFIX: 'bytes-bound',
        STORE_MAX_BYTES: '20000',
        QUERY_MAX_BYTES: '65536',
      },
    });
    try {
      // About 4 KB each: 8 of them are past STORE_MAX_BYTES, all within QUERY_MAX_BYTES.
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push(await postAlert(receiver, `${i} ${'x'.repeat(4_000)}`));
      await untilNewest(receiver, ids[7]!);

      const read = await readAll(receiver, 'bytes-bound', ids[0]!);
      expect(read.listed.length).toBeGreaterThan(0);
      expect(read.listed.length).toBeLessThan(7);
      expect(read.listed).toEqual(ids.toReversed().slice(0, read.listed.length));
      expect(read.truncated).toBe(true);
      expect(read.downloads).toEqual(['true', 'true']);
      expect(read.replayed).toEqual(ids.slice(-read.replayed.length));
      expect(read.replayed.length).toBeGreaterThan(0);
      expect(read.replayed.length).toBeLessThan(7);
      expect(read.replayTruncatedAt).toEqual([0]);

      // Within the bound: nothing said.
      const whole = await readAll(receiver, 'bytes-bound', ids[6]!);
      expect(whole.replayed).toEqual([ids[7]]);
      expect(whole.replayTruncatedAt).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it.each([
    ['alone', false],
    ['with their fields entries', true],
  ])(
    'is told as a cut when a run of unreadable entries, written %s, fills its bound on entries read',
    async (_, withFields) => {
      const prefix = `entries-bound-${withFields}`;
      const receiver = await startReceiver({
        env: { STORE_URL: redis.url, STORE_KEY_PREFIX: prefix, STORE_MAX_ALERTS: '10' },
      });
      try {
        const first = await postAlert(receiver, 'first');
        await untilNewest(receiver, await postAlert(receiver, 'second'));
        // Another writer's 600 entries whose text is not JSON: past 2 x STORE_MAX_ALERTS, and more
        // than the scan's first two pages (16, then up to 500) read.
        const now = String(Date.now());
        const fields = [
          ...['id', 'not-an-alert', 'at', now, 't', now, 'src', 'syscall', 'rule', 'R', 'pri', 'Notice'],
          ...['host', '', 'ns', '', 'tags', '', 'bytes', '8', 'json', 'not json'],
        ];
        const alsoFields = withFields ? "redis.call('XADD', KEYS[2], sid, unpack(ARGV, 1, #ARGV - 2)) " : '';
        await redis.cli(
          'EVAL',
          `for i = 1, 600 do local sid = redis.call('XADD', KEYS[1], '*', unpack(ARGV)) ${alsoFields}end`,
          '2',
          `${prefix}:alerts`,
          `${prefix}:alert-fields`,
          ...fields,
        );

        const read = await readAll(receiver, prefix, first);
        expect(read.listed).toEqual([]);
        expect(read.truncated).toBe(true);
        expect(read.downloads).toEqual(['true', 'true']);
        expect(read.replayed).toEqual([]);
        expect(read.replayTruncatedAt).toEqual([0]);
      } finally {
        await receiver.close();
      }
    },
  );
});

// Regression: a scan whose last page was full ended at its bound on entries read before it read the
// (empty) page after it, and took the range's end for a cut: a list, download or replay that held
// every alert of the stream said `truncated`, X-Alerts-Truncated and `event: truncated`.
describe.skipIf(!hasRedis)(
  "a shared store's read that reaches its bound on entries read as the range ends",
  () => {
    it('is whole when its last page held the oldest entry, and cut when one more was left unread', async () => {
      const prefix = 'entries-bound-end';
      // Bound on entries read: about 14; the scan's first page asks for 16.
      const receiver = await startReceiver({
        env: { STORE_URL: redis.url, STORE_KEY_PREFIX: prefix, STORE_MAX_ALERTS: '7' },
      });
      try {
        const get = (path: string) => fetch(`http://127.0.0.1:${receiver.port}${path}`);
        // One alert of its own (the replay's Last-Event-ID), and another writer's 15: the scan's
        // first page holds the 16, full.
        const ids = [await postAlert(receiver, 'first')];
        await untilNewest(receiver, ids[0]!);
        for (let i = 0; i < 15; i++) ids.push(await writeMarker(prefix));
        await untilNewest(receiver, ids[15]!);

        const list = await get('/alerts?limit=100');
        const listed = (await list.json()) as { alerts: Array<{ id: string }>; truncated?: boolean };
        expect(listed.alerts.map((alert) => alert.id)).toEqual(ids.toReversed());
        expect(listed.truncated).toBeUndefined();
        const csv = await get('/alerts?limit=100&format=csv');
        await csv.text();
        expect(csv.headers.get('x-alerts-truncated')).toBeNull();

        // 16 after the client's id: a full first page again, which ends the range.
        ids.push(await writeMarker(prefix));
        const replay = await openSseClient(receiver.port, { 'Last-Event-ID': ids[0]! });
        await replay.waitFor(16);
        replay.close();
        expect(replay.ids).toEqual(ids.slice(1));
        expect(replay.truncatedAt).toEqual([]);

        // 17 in the list's range: the one past its first page is left unread, and said to be.
        const cut = (await (await get('/alerts?limit=100')).json()) as {
          alerts: unknown[];
          truncated?: boolean;
        };
        expect(cut.alerts).toHaveLength(16);
        expect(cut.truncated).toBe(true);
      } finally {
        await receiver.close();
      }
    });
  },
);
