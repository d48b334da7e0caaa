import express from 'express';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import type { FalcoAlert } from '../../src/alerts/falco-alert-schema.js';
import type { AlertStore } from '../../src/alerts/alert-store.js';
import { PRIORITIES, type Priority } from '../../src/alerts/priority.js';
import { createMemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { createDashboardRouter } from '../../src/http/dashboard/dashboard-router.js';
import { summarizeWindow } from '../../src/http/dashboard/summarize-alerts.js';
import { measureLoopStall } from '../helpers/loop-stall.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { readSummaryEntries } from '../helpers/summary-entries.js';
import { buildDashboardTestApp } from './dashboard-test-app.js';

const NOW = Date.parse('2026-06-15T12:00:00.000Z');
const MINUTE = 60_000;

function alertOf(rule: string, priority: Priority): FalcoAlert {
  return { rule, priority, time: '2026-06-15T11:00:00.000000000Z', source: 'syscall', hostname: 'node-1' };
}

/** An app whose clock can be moved back to receive alerts "in the past". */
function appWithClock(env: Record<string, string> = {}) {
  let clock = NOW;
  const built = buildDashboardTestApp({ now: () => clock, env });
  const receive = (minutesAgo: number, rule: string, priority: Priority, bytes = 100) => {
    clock = NOW - minutesAgo * MINUTE;
    built.sink.accept(alertOf(rule, priority), { bytes });
    clock = NOW;
  };
  return { ...built, receive };
}

function countOf(body: { byPriority: { priority: string; count: number }[] }, priority: Priority): number {
  return body.byPriority.find((row) => row.priority === priority)?.count ?? -1;
}

describe('GET /ui/summary', () => {
  it('counts the alerts received in the window per priority and leaves older ones out', async () => {
    const { app, receive } = appWithClock();
    receive(120, 'Write below root', 'Error');
    receive(30, 'Read sensitive file untrusted', 'Warning');
    receive(14, 'Terminal shell in container', 'Notice');
    receive(5, 'Write below root', 'Error');
    receive(1, 'Terminal shell in container', 'Notice');

    const res = await request(app).get('/ui/summary?window=15m');

    expect(res.status).toBe(200);
    expect(res.body.window).toBe('15m');
    expect(res.body.since).toBe(new Date(NOW - 15 * MINUTE).toISOString());
    expect(res.body.total).toBe(3);
    expect(res.body.byPriority.map((row: { priority: string }) => row.priority)).toEqual([...PRIORITIES]);
    expect(countOf(res.body, 'Notice')).toBe(2);
    expect(countOf(res.body, 'Error')).toBe(1);
    expect(countOf(res.body, 'Warning')).toBe(0);
    expect(res.body.topRules).toEqual([
      { rule: 'Terminal shell in container', count: 2 },
      { rule: 'Write below root', count: 1 },
    ]);
  });

  it('widens to one hour by default and to 24 hours on request', async () => {
    const { app, receive } = appWithClock();
    receive(25 * 60, 'Write below root', 'Error');
    receive(120, 'Write below root', 'Error');
    receive(30, 'Read sensitive file untrusted', 'Warning');

    const hour = await request(app).get('/ui/summary');
    const day = await request(app).get('/ui/summary?window=24h');

    expect(hour.body).toMatchObject({ window: '1h', total: 1 });
    expect(day.body).toMatchObject({ window: '24h', total: 2 });
    expect(countOf(day.body, 'Error')).toBe(1);
  });

  it('lists at most ten top rules, most frequent first and then by name', async () => {
    const { app, receive } = appWithClock();
    for (let i = 0; i < 12; i += 1) receive(1, `Rule ${String(i).padStart(2, '0')}`, 'Notice');
    receive(1, 'Rule 11', 'Notice');

    const res = await request(app).get('/ui/summary?window=15m');

    expect(res.body.topRules).toHaveLength(10);
    expect(res.body.topRules[0]).toEqual({ rule: 'Rule 11', count: 2 });
    expect(res.body.topRules[1]).toEqual({ rule: 'Rule 00', count: 1 });
    expect(res.body.topRules[9]).toEqual({ rule: 'Rule 08', count: 1 });
    expect(res.body.unlistedMax).toBe(1);
  });

  it('says the highest count among the rules left out of the top ten, also of one pushed out of it', async () => {
    const { app, receive } = appWithClock();
    // 'Rule 00' fills the list first and is pushed out by 'Rule 10'; 'Rule 11' comes once it is full.
    for (let i = 0; i < 4; i += 1) receive(1, 'Rule 00', 'Notice');
    for (let rule = 1; rule <= 11; rule += 1) {
      const name = `Rule ${String(rule).padStart(2, '0')}`;
      for (let i = 0; i < (rule === 11 ? 2 : 5); i += 1) receive(1, name, 'Notice');
    }

    const res = await request(app).get('/ui/summary?window=15m');

    expect(res.body.topRules).toHaveLength(10);
    expect(res.body.topRules.map((row: { rule: string }) => row.rule)).not.toContain('Rule 00');
    expect(res.body.unlistedMax).toBe(4);
  });

  it('says no rule was left out while the top list holds every rule of the window', async () => {
    const { app, receive } = appWithClock();
    for (let rule = 0; rule < 10; rule += 1) receive(1, `Rule ${rule}`, 'Notice');

    const res = await request(app).get('/ui/summary?window=15m');

    expect(res.body.topRules).toHaveLength(10);
    expect(res.body.unlistedMax).toBe(0);
  });

  it('says how many more alerts the store takes before one counted in the window is evicted', async () => {
    const { app, receive } = appWithClock({ STORE_MAX_ALERTS: '5' });
    receive(120, 'Write below root', 'Error');
    receive(120, 'Write below root', 'Error');
    receive(1, 'Terminal shell in container', 'Notice');

    // Two free places, then the two alerts from before the window; the day holds all three.
    expect((await request(app).get('/ui/summary?window=15m')).body.room).toBe(4);
    expect((await request(app).get('/ui/summary?window=24h')).body.room).toBe(2);

    for (let i = 0; i < 4; i += 1) receive(1, 'Terminal shell in container', 'Notice');

    // Full, and every alert held is in the window: the next one evicts a counted one.
    const full = await request(app).get('/ui/summary?window=15m');
    expect(full.body).toMatchObject({ total: 5, room: 0 });
  });

  // Regression: room foresaw only STORE_MAX_ALERTS, so with large alerts the store evicted counted
  // ones by STORE_MAX_BYTES while the page still added live alerts to their counts.
  it('says fewer alerts fit when STORE_MAX_BYTES would evict a counted one before STORE_MAX_ALERTS', async () => {
    const { app, receive } = appWithClock({ STORE_MAX_ALERTS: '100', STORE_MAX_BYTES: '10000' });
    receive(120, 'Write below root', 'Error', 1000);
    receive(120, 'Write below root', 'Error', 1000);
    for (let i = 0; i < 3; i += 1) receive(1, 'Terminal shell in container', 'Notice', 1000);

    // 10,000 bytes less the 3,000 counted, less one alert's worth of slack, in alerts of 1,000 bytes.
    const before = await request(app).get('/ui/summary?window=15m');
    expect(before.body.room).toBe(6);
    for (let i = 0; i < before.body.room; i += 1) receive(0, 'Terminal shell in container', 'Notice', 1000);

    // Every alert counted before is still held: the room was not overstated.
    expect((await request(app).get('/ui/summary?window=15m')).body.total).toBe(3 + 6);
  });

  it('sizes the alerts to come by the largest one held', async () => {
    const { app, receive } = appWithClock({ STORE_MAX_ALERTS: '100', STORE_MAX_BYTES: '10000' });
    receive(120, 'Write below root', 'Error', 2000);
    for (let i = 0; i < 3; i += 1) receive(1, 'Terminal shell in container', 'Notice', 1000);

    // (10,000 - 3,000 - 2,000) / 2,000.
    expect((await request(app).get('/ui/summary?window=15m')).body.room).toBe(2);
  });

  // The in-memory store's text ring evicts before STORE_MAX_BYTES too: while it has not grown to
  // it, one large alert that does not fit at its end may evict several. Room must foresee those.
  it('keeps every counted alert through as many new ones as room says, each as large as the largest held', async () => {
    // A fixed pseudo-random sequence: store sizes, alert sizes up to 5 kB or 60 kB, gaps, windows.
    let seed = 1;
    const next = (most: number) => (seed = (seed * 48271) % 2147483647) % most;
    for (let store = 0; store < 100; store++) {
      const maxAlerts = 2 + next(10);
      const memory = createMemoryAlertStore({ maxAlerts, maxBytes: 1_000_000 });
      let clock = NOW;
      const receive = (bytes: number) =>
        memory.add(makeStoredAlert({}, { receivedAtMs: clock, bytes, json: 'x'.repeat(bytes) }));
      for (let round = 0; round < 30; round++) {
        for (let i = next(3); i >= 0; i--) {
          clock += next(3) * MINUTE;
          receive(1 + next(next(2) === 0 ? 5000 : 60_000));
        }
        const sinceMs = clock - next(4) * MINUTE;
        const fill = { held: await memory.count(), maxAlerts, bytes: memory.byteFill!(sinceMs) };
        const summary = await summarizeWindow(memory, '1h', sinceMs + 60 * MINUTE, fill);

        for (let i = 0; i < summary.room; i++) receive(fill.bytes.largest);

        expect((await readSummaryEntries(memory, sinceMs)).length).toBe(summary.total + summary.room);
      }
    }
  });

  it('says no room while the store holds no alert to size the next ones by, so the page reads again at once', async () => {
    const { app } = appWithClock({ STORE_MAX_ALERTS: '100', STORE_MAX_BYTES: '10000' });

    expect((await request(app).get('/ui/summary?window=15m')).body.room).toBe(0);
  });

  it('rejects an unknown window with a 400 problem naming the window parameter', async () => {
    const { app } = appWithClock();

    const res = await request(app).get('/ui/summary?window=2h');

    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.body.errors).toEqual([{ pointer: 'window', detail: 'must be one of 15m, 1h, 24h' }]);
  });

  it('rejects a repeated window parameter instead of failing on the array', async () => {
    const { app } = appWithClock();

    const res = await request(app).get('/ui/summary?window=1h&window=24h');

    expect(res.status).toBe(400);
    expect(res.body.errors[0].pointer).toBe('window');
  });

  it('refuses an unknown or misspelt parameter with a 400 problem naming it, as GET /alerts does', async () => {
    const { app } = appWithClock();

    const res = await request(app).get('/ui/summary?window%5Bx%5D=1&windw=24h');

    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.body.errors).toEqual([
      { pointer: 'window[x]', detail: 'is not a parameter of this endpoint' },
      { pointer: 'windw', detail: 'is not a parameter of this endpoint' },
    ]);
  });

  // Regression (security review): 12 alerts of 1.79 MB rules made one answer of 17.9 MB (past
  // QUERY_MAX_BYTES, outside the read budget), 208-253 ms of the loop each, and 32 of them pipelined
  // to a client that did not read took the process from 183 to 725 MB.
  it('answers a few KB for alerts of 1.79 MB rule names, each name cut to its first 1,024 units and marked', async () => {
    const { app, receive } = appWithClock({ STORE_MAX_BYTES: String(64 * 1024 * 1024) });
    const rules = Array.from({ length: 12 }, (_, i) =>
      `R${String(i).padStart(2, '0')}x`.padEnd(1_790_000, 'x'),
    );
    for (const rule of rules) receive(1, rule, 'Notice', rule.length + 100);

    const res = await request(app).get('/ui/summary?window=15m');

    expect(res.status).toBe(200);
    expect(Number(res.headers['content-length'])).toBeLessThan(16 * 1024);
    expect(res.body.total).toBe(12);
    expect(res.body.topRules).toEqual(
      rules.slice(0, 10).map((rule) => ({ rule: rule.slice(0, 1024), count: 1, truncated: true })),
    );
    expect(res.body.unlistedMax).toBe(1);
  });

  it('answers with zero counts when nothing was received', async () => {
    const { app } = appWithClock();

    const res = await request(app).get('/ui/summary?window=15m');

    expect(res.body.total).toBe(0);
    expect(res.body.topRules).toEqual([]);
    expect(res.body.unlistedMax).toBe(0);
    expect(res.body.byPriority.every((row: { count: number }) => row.count === 0)).toBe(true);
  });

  it('counts the window per interval and priority for the chart, intervals aligned to the step', async () => {
    const { app, receive } = appWithClock();
    // In receive order (the store is kept in that order).
    receive(16, 'Too old', 'Critical');
    receive(14.5, 'Write below root', 'Error');
    receive(1, 'Terminal shell in container', 'Notice');
    receive(1, 'Write below root', 'Error');
    receive(0, 'Terminal shell in container', 'Notice');

    const res = await request(app).get('/ui/summary?window=15m');

    expect(res.body.asOf).toBe(new Date(NOW).toISOString());
    const { startMs, stepMs, byPriority } = res.body.timeline;
    // 30-second intervals from 15 minutes ago through the interval holding now: 31 of them.
    expect(stepMs).toBe(30_000);
    expect(startMs).toBe(NOW - 15 * MINUTE);
    const rows = Object.fromEntries(
      byPriority.map((row: { priority: string; counts: number[] }) => [row.priority, row.counts]),
    );
    expect(Object.keys(rows)).toEqual([...PRIORITIES]);
    expect(rows.Error).toHaveLength(31);
    expect(rows.Error[1]).toBe(1);
    expect(rows.Error[28]).toBe(1);
    expect(rows.Notice[28]).toBe(1);
    expect(rows.Notice[30]).toBe(1);
    expect(rows.Critical.every((count: number) => count === 0)).toBe(true);
    const charted = byPriority.reduce(
      (sum: number, row: { counts: number[] }) => sum + row.counts.reduce((a, b) => a + b, 0),
      0,
    );
    expect(charted).toBe(res.body.total);
  });

  // Regression (security review): 10,000 alerts of distinct ~3 KB rules sharing a prefix, each
  // counted once: every comparison of the full sort reached localeCompare, 286 ms per request and
  // 1,245 ms for 4 at once.
  it('ranks 10,000 distinct 3 KB rules of equal count without holding the loop, ties by code unit', async () => {
    const { app, store } = buildDashboardTestApp({ now: () => NOW });
    // Told apart within the first 1,024 units, which the summary shows of each.
    const prefix = 'Rule '.padEnd(1000, 'x');
    const suffix = 'y'.repeat(2000);
    // 9,999 rules in a scrambled order (a sort of ordered input is cheap), as flat strings as
    // JSON.parse makes them from a request, and one of them a second time (10,000 held).
    const numbers = Array.from({ length: 9_999 }, (_, i) => String((i * 7919) % 9_999).padStart(5, '0'));
    const rules = JSON.parse(
      JSON.stringify([...numbers, '05000'].map((n) => prefix + n + suffix)),
    ) as string[];
    for (const rule of rules)
      store.add(makeStoredAlert({ rule, priority: 'Notice' }, { receivedAtMs: NOW - MINUTE, bytes: 100 }));

    const stall = await measureLoopStall(() =>
      Promise.all(Array.from({ length: 4 }, () => request(app).get('/ui/summary?window=15m'))),
    );

    for (const res of stall.value) {
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(10_000);
      // The rule counted twice first, then the others of count 1 by code unit.
      expect(res.body.topRules.map((row: { rule: string }) => row.rule.slice(prefix.length, -19))).toEqual([
        '05000',
        ...['00000', '00001', '00002', '00003', '00004', '00005', '00006', '00007', '00008'],
      ]);
    }
    expect(stall.heldMs).toBeLessThan(600);
  });

  // Regression (review, session 51's leftover): the window was read and counted in one piece of
  // synchronous work: 150-250 ms of held loop per summary at STORE_MAX_ALERTS=100000 (and no bound
  // on that setting), so a viewer asking again and again held ingest, probes and /metrics for good.
  it('hands the loop back while it reads and counts a window of 300,000 alerts of distinct rules', async () => {
    const { app, store } = buildDashboardTestApp({
      now: () => NOW,
      env: { STORE_MAX_ALERTS: '300000', STORE_MAX_BYTES: String(1024 * 1024 * 1024) },
    });
    for (let i = 0; i < 300_000; i++)
      store.add(
        makeStoredAlert(
          { rule: `Rule ${i}`, priority: 'Notice' },
          { receivedAtMs: NOW - MINUTE, bytes: 100 },
        ),
      );

    // Turns of the loop while the summary is taken: other work (ingest, probes) gets in between.
    let turns = 0;
    let counting = true;
    const turn = () => {
      turns += 1;
      if (counting) setImmediate(turn);
    };
    setImmediate(turn);
    const started = turns;
    const res = await request(app).get('/ui/summary?window=15m');
    counting = false;

    expect(res.status).toBe(200);
    expect(res.body.total).toBe(300_000);
    expect(res.body.unlistedMax).toBe(1);
    // Paced at TURN_BUDGET_MS (2 ms of reading and counting a turn): in one piece, the loop did not
    // turn between the request's arrival and its answer but for the request's own I/O.
    expect(turns - started).toBeGreaterThan(20);
  }, 60_000);

  // With Redis every summary is a read of the whole window (up to STORE_MAX_ALERTS entries): four
  // requests at once were four such reads and four summaries.
  it('takes one summary for requests of one window that come while it is taken, and a new one after', async () => {
    const { store, receive } = appWithClock();
    receive(1, 'Write below root', 'Error');
    let reads = 0;
    // The store as Redis answers: after a round trip.
    const slowStore: AlertStore = {
      ...store,
      receivedSince: async (sinceMs, count) => {
        reads += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return store.receivedSince(sinceMs, count);
      },
    };
    let clock = NOW;
    const app = express().use(
      createDashboardRouter({
        store: slowStore,
        storeMaxAlerts: 100,
        triggersEnabled: false,
        now: () => (clock += 1000),
      }),
    );

    const together = await Promise.all(Array.from({ length: 4 }, () => request(app).get('/ui/summary')));
    const later = await request(app).get('/ui/summary');

    expect(together.map((res) => res.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(together.map((res) => res.body.asOf)).size).toBe(1);
    expect(together[0]!.body).toMatchObject({ total: 1, topRules: [{ rule: 'Write below root', count: 1 }] });
    expect(later.body.asOf).not.toBe(together[0]!.body.asOf);
    expect(reads).toBe(2);
  });

  // Regression (review of the paced summary): the rules were counted in one Map, which grows by
  // copying every entry into a table twice as large in one piece: at 262,144 distinct rules (a window
  // of STORE_MAX_ALERTS=300000) that copy held the loop 57 ms of the summary's longest 60-68 ms.
  // Counted, not timed: the size a Map reaches says how long its last growth took.
  it('counts 40,000 distinct rules in maps that each stay under 16,384 entries', async () => {
    const memory = createMemoryAlertStore({ maxAlerts: 40_000, maxBytes: 100_000_000 });
    for (let i = 0; i < 40_000; i++)
      memory.add(
        makeStoredAlert({ rule: `Rule ${i}`, priority: 'Notice' }, { receivedAtMs: 1_000_000, bytes: 100 }),
      );
    const set = vi.spyOn(Map.prototype, 'set');
    try {
      const summary = await summarizeWindow(memory, '1h', 1_000_500, { held: 40_000, maxAlerts: 40_000 });
      const largest = Math.max(
        ...[...new Set(set.mock.contexts)].map((map) => (map as Map<unknown, unknown>).size),
      );
      expect(largest).toBeLessThan(16_384);
      expect(summary.total).toBe(40_000);
      expect(summary.topRules.map((row) => row.rule)).toEqual(
        ['0', '1', '10', '100', '1000', '10000', '10001', '10002', '10003', '10004'].map((n) => `Rule ${n}`),
      );
      expect(summary.unlistedMax).toBe(1);
    } finally {
      set.mockRestore();
    }
  });

  // V8 hashes a string longer than 16,383 characters by its length alone: keyed by whole names,
  // 1,900 distinct rules of 16,500 characters shared one bucket and a summary held the loop 2.5 s
  // (found by review). Counted, not timed: the memory store gives the summary the capped forms the
  // shared store keys by, taken as the alerts came.
  it('counts long rules under their capped forms, never a key past the hash bound', async () => {
    const prefix = 'x'.repeat(16_494);
    const memory = createMemoryAlertStore({ maxAlerts: 1_000, maxBytes: 100_000_000 });
    for (let i = 0; i < 300; i++) {
      const rule = prefix + String(i % 150).padStart(6, '0');
      memory.add(makeStoredAlert({ rule, priority: 'Notice' }, { receivedAtMs: 1_000_000, bytes: 100 }));
    }
    const set = vi.spyOn(Map.prototype, 'set');
    try {
      const summary = await summarizeWindow(memory, '1h', 1_000_500, { held: 300, maxAlerts: 10_000 });
      const keys = set.mock.calls.map(([key]) => key).filter((key) => typeof key === 'string');
      expect(Math.max(...keys.map((key) => key.length))).toBeLessThan(16_384);
      expect(summary.topRules).toHaveLength(10);
      expect(summary.topRules.every((row) => row.count === 2 && row.truncated === true)).toBe(true);
      expect(summary.unlistedMax).toBe(2);
    } finally {
      set.mockRestore();
    }
  });
});
