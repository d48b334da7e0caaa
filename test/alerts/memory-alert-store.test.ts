import { describe, expect, it } from 'vitest';
import { createAlertIds } from '../../src/alerts/alert-ids.js';
import { createMemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { bigText, heapUsedAfterGc } from '../helpers/heap.js';
import { readSummaryEntries } from '../helpers/summary-entries.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';

// What both stores do is in alert-store-contract.test.ts; these are the memory store's own bounds.
describe('createMemoryAlertStore', () => {
  it('evicts by bytes so large alerts cannot grow memory without bound', async () => {
    const store = createMemoryAlertStore({ maxAlerts: 100, maxBytes: 25_000 });
    for (let i = 0; i < 5; i++) store.add(makeStoredAlert({}, { bytes: 10_000 }));
    expect(await store.count()).toBe(2);
  });

  it("copies a list out only up to the reader's maxBytes, the alert that crosses it included", async () => {
    const store = createMemoryAlertStore({ maxAlerts: 100, maxBytes: 1e9 });
    const added = Array.from({ length: 10 }, () => makeStoredAlert({}, { bytes: 1000 }));
    for (const entry of added) store.add(entry);

    const listed = (await store.query({ limit: 100, maxBytes: 2500 })).alerts;
    expect(listed.map((entry) => entry.id)).toEqual([added[9]!.id, added[8]!.id, added[7]!.id]);
    expect((await store.query({ limit: 100 })).alerts).toHaveLength(10);
  });

  it("lets go of an evicted alert's texts at once, not when its slot is next written", async () => {
    const store = createMemoryAlertStore({ maxAlerts: 1000, maxBytes: 20_000 });
    const before = heapUsedAfterGc();
    // 40 alerts with 1 MB names each, evicted by bytes after the next two: at most ~3 MB stay.
    for (let i = 0; i < 40; i++) {
      const name = bigText(`host-${i}`);
      store.add(makeStoredAlert({ hostname: name, rule: bigText(`rule-${i}`) }, { bytes: 10_000 }));
    }
    const grown = heapUsedAfterGc() - before;
    expect(await store.count()).toBe(2);
    expect(grown).toBeLessThan(12 * 1024 * 1024);
  });

  // A rule past FIELD_CAP is counted by its capped form, taken as the alert is added (once a run
  // of one rule). The capper that took it kept the last long rule it was given: evicted with every
  // alert of it, an 8 MB rule stayed held (up to the body limit, and more from a direct add).
  it("lets go of an evicted alert's long rule, its capped form taken when it came included", async () => {
    const store = createMemoryAlertStore({ maxAlerts: 1000, maxBytes: 20_000 });
    const before = heapUsedAfterGc();
    const addLong = () =>
      store.add(makeStoredAlert({ rule: bigText('rule', 8 * 1024 * 1024) }, { bytes: 10_000 }));
    addLong();
    for (let i = 0; i < 3; i++) store.add(makeStoredAlert({}, { bytes: 10_000 }));
    const grown = heapUsedAfterGc() - before;
    expect((await readSummaryEntries(store, 0)).map((entry) => entry.rule.length)).toEqual([27, 27]);
    expect(grown).toBeLessThan(2 * 1024 * 1024);
  });

  // Alerts of one rule share the capped form taken for the first of the run. That form was the
  // rule's start as a slice, which V8 keeps with its whole parent: the first alert's 8 MB rule stayed
  // held, through the form, after that alert was evicted (16.8 MB held for one such alert).
  it("lets go of a run's first long rule when its alert is evicted and the run's next is held", async () => {
    const store = createMemoryAlertStore({ maxAlerts: 1000, maxBytes: 20_000 });
    const before = heapUsedAfterGc();
    const addLong = () =>
      store.add(makeStoredAlert({ rule: bigText('rule', 8 * 1024 * 1024) }, { bytes: 10_000 }));
    addLong();
    addLong();
    store.add(makeStoredAlert({}, { bytes: 10_000 }));
    const grown = heapUsedAfterGc() - before;
    expect((await readSummaryEntries(store, 0)).map((entry) => entry.rule.length)).toEqual([27, 1068]);
    expect(grown).toBeLessThan(12 * 1024 * 1024);
  });

  // Its reads are paced (a couple of ms of copying a turn): ingest goes on between two turns.
  it('reads a list and a replay whose alerts are evicted meanwhile: exact texts, none past the eviction', async () => {
    const store = createMemoryAlertStore({ maxAlerts: 100, maxBytes: 16 * 1024 * 1024 });
    const text = (i: number) =>
      `{"rule":"R${i}","priority":"Error","time":"2026-06-15T09:31:44Z","output":"${'x'.repeat(100_000)}"}`;
    const add = (i: number) => store.add(makeStoredAlert({}, { id: `a${i}`, json: text(i), bytes: 100_000 }));
    for (let i = 0; i < 100; i++) add(i);

    // 100 alerts of 100 kB take more than one turn to copy out; each turn, ten more come in.
    let next = 100;
    const ingest = setInterval(() => {
      for (let i = 0; i < 10; i++) add(next++);
    }, 0);
    const [found, read] = await Promise.all([store.query({ limit: 100 }), store.after('a0', 100)]);
    const [listed, replayed] = [found.alerts, read!.alerts];
    clearInterval(ingest);

    expect(next).toBeGreaterThan(100);
    for (const entry of [...listed, ...replayed]) expect(entry.json).toBe(text(Number(entry.id.slice(1))));
    // The list: the newest when it began, down to where eviction stopped it.
    expect(listed.map((entry) => entry.id)).toEqual(
      Array.from({ length: listed.length }, (_, index) => `a${99 - index}`),
    );
    // The replay: the alerts after a0 held when it began, oldest first, without a gap among them;
    // those evicted before it reached them (a1 up to its first) make it say so.
    const first = Number(replayed[0]!.id.slice(1));
    expect(replayed.map((entry) => entry.id)).toEqual(
      Array.from({ length: 100 - first }, (_, index) => `a${first + index}`),
    );
    expect(read!.gap ?? false).toBe(first > 1);
  });

  it('keeps a single alert larger than the byte budget rather than none', async () => {
    const store = createMemoryAlertStore({ maxAlerts: 100, maxBytes: 10 });
    const big = makeStoredAlert({}, { bytes: 1000 });
    store.add(big);
    expect(await store.get(big.id)).toBe(big);
  });

  it('holds the received text instead of the parsed alert and parses it again when read', async () => {
    const store = createMemoryAlertStore({ maxAlerts: 10, maxBytes: 1e9 });
    const entry = makeStoredAlert(
      {},
      { json: '{"rule":"R","priority":"Error","time":"2026-06-15T09:31:44Z"}' },
    );
    store.add(entry);
    const read = await store.get(entry.id);
    expect(read?.alert).not.toBe(entry.alert);
    expect(read?.alert).toEqual({ rule: 'R', priority: 'Error', time: '2026-06-15T09:31:44Z' });
  });

  it('keeps every held text exact while 1 KB alerts overwrite a small byte budget many times over', async () => {
    const store = createMemoryAlertStore({ maxAlerts: 1000, maxBytes: 64 * 1024 });
    const entries = [];
    for (let i = 0; i < 2000; i++) {
      const json = `{"rule":"R${i}","priority":"Error","time":"2026-06-15T09:31:44Z","output":"${'é'.repeat(i % 5)}${'x'.repeat(900 + (i % 300))}"}`;
      entries.push(makeStoredAlert({}, { json, bytes: Buffer.byteLength(json) }));
      store.add(entries.at(-1)!);
    }
    const held = await store.count();
    // Bounded by the text bytes, not the count: a 64 KiB budget of about 1.1 KB texts.
    expect(held).toBeGreaterThan(40);
    expect(held).toBeLessThanOrEqual(60);
    for (const entry of entries.slice(-held)) expect((await store.get(entry.id))?.json).toBe(entry.json);
    expect(await store.get(entries.at(-held - 1)!.id)).toBeUndefined();
  });

  it('finds alerts by the ids the sink makes, after many evictions, and by any other id beside them', async () => {
    const ids = createAlertIds();
    const store = createMemoryAlertStore({ maxAlerts: 100, maxBytes: 1e9 });
    const added = [];
    for (let i = 0; i < 1000; i++) {
      // Now and then an id of another shape (another sink, a test) between the sink's own.
      const id = i % 7 === 3 ? `other-${i}` : ids.next();
      added.push(makeStoredAlert({ rule: `R${i}` }, { id, json: `{"rule":"R${i}","n":${i}}` }));
      store.add(added.at(-1)!);
    }
    for (const entry of added.slice(-100)) {
      const read = await store.get(entry.id);
      expect(read?.id).toBe(entry.id);
      expect(read?.json).toBe(entry.json);
      expect(read?.receivedAt).toBe(entry.receivedAt);
    }
    for (const entry of added.slice(0, 900)) expect(await store.get(entry.id)).toBeUndefined();
    expect((await store.query({ limit: 3 })).alerts.map((entry) => entry.id)).toEqual(
      added
        .slice(-3)
        .map((entry) => entry.id)
        .reverse(),
    );
    expect(await store.get(ids.next())).toBeUndefined();
  });

  it('keeps a receivedAt that is not the ISO form of receivedAtMs, between alerts of the same millisecond', async () => {
    const store = createMemoryAlertStore({ maxAlerts: 10, maxBytes: 1e9 });
    const ms = Date.UTC(2026, 5, 15, 9, 31, 45, 123);
    const iso = new Date(ms).toISOString();
    // Another writer's form of the same instant (an offset, not Z) must read back as it was written.
    const entries = [iso, '2026-06-15T11:31:45.123+02:00', iso, iso.replace('.123Z', '.1230Z')].map(
      (receivedAt) => makeStoredAlert({}, { receivedAt, receivedAtMs: ms }),
    );
    for (const entry of entries) store.add(entry);
    for (const entry of entries) expect((await store.get(entry.id))?.receivedAt).toBe(entry.receivedAt);
  });
});
