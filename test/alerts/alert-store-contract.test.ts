import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertFeed } from '../../src/alerts/alert-feed.js';
import type { AlertStore } from '../../src/alerts/alert-store.js';
import { createAlertStore } from '../../src/store/create-alert-store.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';

type MakeStore = (maxAlerts: number) => { store: AlertStore; close(): Promise<void> };

let redis: TestRedis | undefined;
let prefixes = 0;
const hasRedis = redisAvailable();

function makeParts(maxAlerts: number, url?: string) {
  const redisConfig = url
    ? {
        target: { kind: 'url' as const, url },
        keyPrefix: `contract-${++prefixes}`,
        retentionMs: 86_400_000,
        pendingMax: 100_000,
      }
    : undefined;
  return createAlertStore({
    config: { maxAlerts, maxBytes: 1e9, redis: redisConfig },
    dedupWindowMs: 0,
    feed: createAlertFeed(() => undefined),
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
  });
}

const implementations: Array<[string, MakeStore, boolean]> = [
  ['memory', (max) => makeParts(max), true],
  ['redis', (max) => makeParts(max, redis?.url), hasRedis],
];

beforeAll(async () => {
  if (hasRedis) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const ids = (entries: Array<{ id: string }>) => entries.map((entry) => entry.id);

describe.each(implementations)('the %s alert store', (_name, make, available) => {
  async function withStore(maxAlerts: number, run: (store: AlertStore) => Promise<void>): Promise<void> {
    const parts = make(maxAlerts);
    try {
      await run(parts.store);
    } finally {
      await parts.close();
    }
  }
  const until = async (store: AlertStore) => {
    for (let i = 0; i < 100 && !store.available(); i++) await new Promise((r) => setTimeout(r, 20));
  };

  it.skipIf(!available)('evicts the oldest alert once it holds maxAlerts', () =>
    withStore(2, async (store) => {
      await until(store);
      const [a, b, c] = [makeStoredAlert(), makeStoredAlert(), makeStoredAlert()];
      [a, b, c].forEach((entry) => store.add(entry));
      await store.flush();
      expect(await store.count()).toBe(2);
      expect(await store.get(a.id)).toBeUndefined();
      expect(ids(await store.query({ limit: 10 }))).toEqual([c.id, b.id]);
    }),
  );

  it.skipIf(!available)('stops at the limit and applies every filter', () =>
    withStore(100, async (store) => {
      await until(store);
      store.add(makeStoredAlert({ priority: 'Critical', hostname: 'a' }));
      store.add(makeStoredAlert({ priority: 'Debug', hostname: 'a' }));
      store.add(makeStoredAlert({ priority: 'Error', hostname: 'b' }, { source: 'k8s_audit' }));
      store.add(makeStoredAlert({ priority: 'Warning', hostname: 'a', rule: 'R' }));
      await store.flush();
      const found = await store.query({ minPriority: 'Warning', hostname: 'a', limit: 1 });
      expect(found.map((e) => e.alert.priority)).toEqual(['Warning']);
      expect((await store.query({ source: 'k8s_audit', limit: 5 })).map((e) => e.hostname)).toEqual(['b']);
      expect((await store.query({ rule: 'R', priority: 'Warning', limit: 5 })).length).toBe(1);
      expect((await store.query({ sinceMs: Date.UTC(2030, 0, 1), limit: 5 })).length).toBe(0);
      const tagged = makeStoredAlert({
        tags: ['container', 'mitre_execution'],
        output_fields: { 'k8s.ns.name': 'payments' },
      });
      store.add(tagged);
      await store.flush();
      expect(ids(await store.query({ tag: 'mitre_execution', limit: 5 }))).toEqual([tagged.id]);
      expect(ids(await store.query({ namespace: 'payments', limit: 5 }))).toEqual([tagged.id]);
      expect((await store.query({ namespace: 'default', limit: 10 })).length).toBe(4);
      expect((await store.query({ tag: 'mitre_persistence', limit: 5 })).length).toBe(0);
    }),
  );

  it.skipIf(!available)('keeps exactly the newest maxAlerts, newest first, over many evictions', () =>
    withStore(700, async (store) => {
      await until(store);
      const added = Array.from({ length: 3000 }, () => makeStoredAlert());
      added.forEach((entry) => store.add(entry));
      await store.flush();
      expect(await store.count()).toBe(700);
      expect(ids(await store.query({ limit: 1000 }))).toEqual(ids(added.slice(-700).reverse()));
      expect(await store.get(added[2299]!.id)).toBeUndefined();
      expect((await store.get(added[2300]!.id))?.id).toBe(added[2300]!.id);
    }),
  );

  it.skipIf(!available)('gives back the exact received text, 19-digit evt.time included', () =>
    withStore(10, async (store) => {
      await until(store);
      const json =
        '{"rule":"Write below root","priority":"Error","time":"2026-06-15T09:31:44.611094417Z","output_fields":{"evt.time":1781515904611094417,"fd.name":"/root/x"}}';
      const entry = makeStoredAlert({}, { json, rule: 'Write below root', priority: 'Error' });
      store.add(entry);
      await store.flush();
      const read = await store.get(entry.id);
      expect(read?.json).toBe(json);
      expect(read?.alert).toEqual({
        rule: 'Write below root',
        priority: 'Error',
        time: '2026-06-15T09:31:44.611094417Z',
        output_fields: { 'evt.time': 1781515904611094417n, 'fd.name': '/root/x' },
      });
      expect(ids(await store.query({ limit: 5, rule: 'Write below root', minPriority: 'Error' }))).toEqual([
        entry.id,
      ]);
    }),
  );

  // Regression: the memory store kept "R\ud800x" as sent and Redis kept "R\uFFFDx" (node-redis
  // writes UTF-8), so ?rule=R%EF%BF%BDx and ?hostname=h%EF%BF%BD found the alert on Redis only.
  it.skipIf(!available)('holds and filters a lone surrogate in any text field as U+FFFD', () =>
    withStore(10, async (store) => {
      await until(store);
      const entry = makeStoredAlert({
        rule: 'R\ud800x',
        hostname: 'h\udfff',
        source: 's\ud800',
        tags: ['container', 't\udc00'],
        output_fields: { 'k8s.ns.name': 'n\ud800' },
      });
      store.add(entry);
      await store.flush();
      const held = { rule: 'R\ufffdx', hostname: 'h\ufffd', source: 's\ufffd', namespace: 'n\ufffd' };
      const found = await store.query({ ...held, tag: 't\ufffd', limit: 5 });
      expect(
        found.map(({ id, rule, hostname, source, namespace, tags }) => ({
          id,
          rule,
          hostname,
          source,
          namespace,
          tags,
        })),
      ).toEqual([{ id: entry.id, ...held, tags: ['container', 't\ufffd'] }]);
      expect((await store.receivedSince(0)).map((summary) => summary.rule)).toEqual(['R\ufffdx']);
      expect(await store.query({ rule: 'R\ud800x', limit: 5 })).toEqual([]);
      expect(await store.query({ hostname: 'h\udfff', limit: 5 })).toEqual([]);
    }),
  );

  it.skipIf(!available)('lists what came after an id, oldest first, and nothing for an unknown id', () =>
    withStore(100, async (store) => {
      await until(store);
      const added = Array.from({ length: 6 }, () => makeStoredAlert());
      added.forEach((entry) => store.add(entry));
      await store.flush();
      expect(ids((await store.after(added[1]!.id, 10))!.alerts)).toEqual(ids(added.slice(2)));
      expect(ids((await store.after(added[1]!.id, 2))!.alerts)).toEqual(ids(added.slice(4)));
      expect(await store.after('no-such-id', 10)).toBeUndefined();
      expect(await store.get('no-such-id')).toBeUndefined();
      // Up to a cap of received bytes (1000 each here), newest first, reading the one past it.
      expect(ids((await store.after(added[1]!.id, 10, 1500))!.alerts)).toEqual(ids(added.slice(4)));
      expect(ids((await store.after(added[1]!.id, 10, 2000))!.alerts)).toEqual(ids(added.slice(3)));
      expect(ids((await store.after(added[1]!.id, 10, 3000))!.alerts)).toEqual(ids(added.slice(2)));
      expect(ids((await store.after(added[1]!.id, 1, 3000))!.alerts)).toEqual(ids(added.slice(5)));
    }),
  );
});
