import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSseClient } from '../helpers/sse-client.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const hasRedis = redisAvailable();
const RULE = 'Terminal shell in container';

// What another writer (another version, a bug, anyone with access to Redis) may leave as an entry's
// `json`: each was spliced into answers as it was. `undefined`: an entry without the field.
const BAD_TEXTS: Array<{ what: string; json: string | undefined; source?: string }> = [
  { what: 'not JSON', json: 'hunter2 {"rule":' },
  // Spliced, the list still parsed, with an alert nobody stored in it.
  {
    what: 'two values, an alert injected',
    json: '{"a":1}},{"id":"injected","receivedAt":"x","source":"x","alert":{}',
  },
  { what: 'JSON that is not an object', json: '["hunter2"]' },
  { what: 'a raw tab in a string', json: '{"output":"hunter2\tshell"}' },
  { what: 'no text at all', json: undefined },
  // A k8saudit entry without a namespace: its namespace is read from its text, which has no rule
  // (that read threw a TypeError, and failed every list that passed over it).
  { what: 'an object that is not an alert', json: '{"hunter2":1}', source: 'k8s_audit' },
];

// A Falco alert of RULE whose output makes it unique (no dedup, and told apart in answers);
// `pretty`: after a byte order mark, on several lines, as ingest takes it and the store keeps it.
const alertBody = (output: string, pretty = false) => {
  const alert = { rule: RULE, priority: 'Notice', source: 'syscall', time: new Date().toISOString(), output };
  return pretty ? `\ufeff${JSON.stringify(alert, null, 2)}\n` : JSON.stringify(alert);
};

const unreadableCount = async (receiver: TestReceiver) =>
  Number(/^falco_store_unreadable_entries_total (\d+)$/m.exec(await receiver.metricsText())?.[1] ?? 0);

// Regression: an entry whose `json` was not one JSON object was copied as it was into the alert
// list, its downloads, GET /alerts/:id, the replay and the live stream: one such entry made every
// list that passed over it invalid JSON for every client (or added alerts to it).
describe.skipIf(!hasRedis)('entries whose stored alert text is not one JSON object', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it.each([
    ['alone', false],
    ['with their fields entries', true],
  ])(
    'are left out of every answer, written %s, counted and logged by stream id without their text',
    async (_, withFields) => {
      const prefix = `bad-text-${withFields}`;
      const receiver = await startReceiver({ env: { STORE_URL: redis.url, STORE_KEY_PREFIX: prefix } });
      try {
        const live = await openSseClient(receiver.port);
        const post = async (output: string, pretty?: boolean) => {
          const res = await fetch(`http://127.0.0.1:${receiver.port}/alerts`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: alertBody(output, pretty),
          });
          expect(res.status).toBe(202);
          return res.headers.get('x-alert-id')!;
        };
        // One of this version's own texts that is not plain: still answered.
        const before = await post('before', true);
        await live.waitFor(1);
        const badStreamIds: string[] = [];
        for (const [index, { json, source = 'syscall' }] of BAD_TEXTS.entries()) {
          const now = String(Date.now());
          const fields = [
            ...['id', `bad-${index}`, 'at', now, 't', now, 'src', source, 'rule', RULE, 'pri', 'Notice'],
            ...['host', '', 'ns', '', 'tags', '', 'bytes', '20'],
          ];
          const text = json === undefined ? [] : ['json', json];
          const streamId = await redis.cli('XADD', `${prefix}:alerts`, '*', ...fields, ...text);
          await redis.cli('HSET', `${prefix}:alert-ids`, `bad-${index}`, streamId);
          if (withFields) await redis.cli('XADD', `${prefix}:alert-fields`, streamId, ...fields);
          badStreamIds.push(streamId);
        }
        const after = await post('after');
        await live.waitFor(2);
        const countedBefore = await unreadableCount(receiver);
        const get = (path: string, headers: Record<string, string> = {}) =>
          fetch(`http://127.0.0.1:${receiver.port}${path}`, { headers });

        // Every answer parses, and holds the good alerts only.
        const list = await get(`/alerts?limit=100&rule=${encodeURIComponent(RULE)}`);
        const listText = await list.text();
        expect(list.status).toBe(200);
        const listed = JSON.parse(listText) as { alerts: Array<{ id: string }>; count: number };
        expect(listed.alerts.map((alert) => alert.id)).toEqual([after, before]);
        expect(listed.count).toBe(2);
        const ndjson = await (await get('/alerts?limit=100&format=ndjson')).text();
        const lines = ndjson.trimEnd().split('\n');
        expect(lines.map((line) => (JSON.parse(line) as { id: string }).id)).toEqual([after, before]);
        expect((await get('/alerts/bad-0')).status).toBe(404);
        expect(((await get(`/alerts/${after}`).then((res) => res.json())) as { id: string }).id).toBe(after);
        const replay = await openSseClient(receiver.port, { 'Last-Event-ID': before });
        await replay.waitFor(1);
        for (const data of [...live.data, ...replay.data])
          expect(() => JSON.parse(data) as unknown).not.toThrow();
        expect(live.ids).toEqual([before, after]);
        expect(replay.ids).toEqual([after]);
        expect([listText, ndjson, ...live.data, ...replay.data].join()).not.toMatch(/hunter2|injected/);
        // Each read that passed over them: the list, the download and the replay each met all of
        // them, the read of one met it; the live reader met them before.
        expect(countedBefore).toBe(BAD_TEXTS.length);
        expect((await unreadableCount(receiver)) - countedBefore).toBe(3 * BAD_TEXTS.length + 1);
        const logged = receiver.logLines.filter((line) => line.event === 'store_entry_unreadable');
        expect(logged).toEqual([
          expect.objectContaining({ level: 'warn', count: 1, streamId: badStreamIds[0] }),
        ]);
        expect(receiver.rawLog()).not.toContain('hunter2');
        live.close();
        replay.close();
      } finally {
        await receiver.close();
      }
    },
  );
});
