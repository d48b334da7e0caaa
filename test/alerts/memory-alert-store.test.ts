import { describe, expect, it } from 'vitest';
import { createMemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';

describe('createMemoryAlertStore', () => {
  it('evicts the oldest alert once it holds maxAlerts', () => {
    const store = createMemoryAlertStore({ maxAlerts: 2, maxBytes: 1e9 });
    const [a, b, c] = [makeStoredAlert(), makeStoredAlert(), makeStoredAlert()];
    [a, b, c].forEach((entry) => store.add(entry));
    expect(store.count()).toBe(2);
    expect(store.get(a.id)).toBeUndefined();
    expect(store.query({ limit: 10 }).map((e) => e.id)).toEqual([c.id, b.id]);
  });

  it('evicts by bytes so large alerts cannot grow memory without bound', () => {
    const store = createMemoryAlertStore({ maxAlerts: 100, maxBytes: 25_000 });
    for (let i = 0; i < 5; i++) store.add(makeStoredAlert({}, { bytes: 10_000 }));
    expect(store.count()).toBe(2);
  });

  it('keeps a single alert larger than the byte budget rather than none', () => {
    const store = createMemoryAlertStore({ maxAlerts: 100, maxBytes: 10 });
    const big = makeStoredAlert({}, { bytes: 1000 });
    store.add(big);
    expect(store.get(big.id)).toBe(big);
  });

  it('stops at the limit and applies every filter', () => {
    const store = createMemoryAlertStore({ maxAlerts: 100, maxBytes: 1e9 });
    store.add(makeStoredAlert({ priority: 'Critical', hostname: 'a' }));
    store.add(makeStoredAlert({ priority: 'Debug', hostname: 'a' }));
    store.add(makeStoredAlert({ priority: 'Error', hostname: 'b' }));
    store.add(makeStoredAlert({ priority: 'Warning', hostname: 'a' }));
    const found = store.query({ minPriority: 'Warning', hostname: 'a', limit: 1 });
    expect(found.map((e) => e.alert.priority)).toEqual(['Warning']);
  });

  it('keeps exactly the newest maxAlerts, newest first, over many evictions', () => {
    const store = createMemoryAlertStore({ maxAlerts: 700, maxBytes: 1e9 });
    const added = Array.from({ length: 5000 }, () => makeStoredAlert());
    added.forEach((entry) => store.add(entry));
    expect(store.count()).toBe(700);
    expect(store.query({ limit: 1000 }).map((e) => e.id)).toEqual(
      added
        .slice(-700)
        .reverse()
        .map((e) => e.id),
    );
    expect(store.get(added[4299]!.id)).toBeUndefined();
    expect(store.get(added[4300]!.id)).toBe(added[4300]);
  });

  it('holds the received text instead of the parsed alert and gives the same alert back', () => {
    const store = createMemoryAlertStore({ maxAlerts: 10, maxBytes: 1e9 });
    const json =
      '{"rule":"Write below root","priority":"Error","time":"2026-06-15T09:31:44.611094417Z","output_fields":{"evt.time":1781515904611094417,"fd.name":"/root/x"}}';
    const entry = makeStoredAlert({}, { json, rule: 'Write below root', priority: 'Error' });
    store.add(entry);
    const read = store.get(entry.id);
    expect(read?.alert).not.toBe(entry.alert);
    expect(read?.alert).toEqual({
      rule: 'Write below root',
      priority: 'Error',
      time: '2026-06-15T09:31:44.611094417Z',
      output_fields: { 'evt.time': 1781515904611094417n, 'fd.name': '/root/x' },
    });
    expect(
      store.query({ limit: 5, rule: 'Write below root', minPriority: 'Error' }).map((e) => e.id),
    ).toEqual([entry.id]);
  });
});
