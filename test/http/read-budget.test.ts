import http, { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import express from 'express';
import { admitOrRefuse, createReadBudget, type ReadBudget } from '../../src/http/read-budget.js';
import { createMetricsRouter, shareMetricsRender } from '../../src/http/routes/metrics.js';
import { startServer } from '../../src/server/start-server.js';
import { sendRuns } from '../../src/triggers/send-runs.js';
import { arrayBuffersAfterGc } from '../helpers/heap.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';

// A client that asks for the whole list and then never reads: what an attacker keeps open.
// `localAddress` (another 127.x address) makes the server see another client on loopback.
async function stalledReader(port: number, localAddress?: string): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.pause();
  socket.write('GET /alerts?limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  return socket;
}

const refused = (text: string, reason: string) =>
  Number(new RegExp(`falco_alert_reads_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);

// Twelve alerts of 900 KB: one full list is about 8 MB (QUERY_MAX_BYTES), more than the kernel's
// socket buffers take from a client that does not read.
async function postBigAlerts(port: number): Promise<void> {
  const output = 'x'.repeat(900 * 1024);
  for (let i = 0; i < 12; i++) {
    const body = JSON.stringify({
      rule: `big ${i}`,
      priority: 'Notice',
      time: '2026-12-01T10:00:00Z',
      output,
    });
    const res = await fetch(`http://127.0.0.1:${port}/alerts`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(202);
  }
}

// GET from a given local address (fetch cannot pick one), read to the end.
function getFrom(port: number, path: string, localAddress: string) {
  return new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, localAddress }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      })
      .on('error', reject);
  });
}

describe('alert lists held for readers that do not read', () => {
  let receiver: TestReceiver;
  const url = (path: string) => `http://127.0.0.1:${receiver.port}${path}`;

  beforeAll(async () => {
    receiver = await startReceiver({
      keepLogLines: false,
      env: {
        QUERY_MAX_INFLIGHT_BYTES: String(12 * 1024 * 1024),
        // No share per address here: one client stands for all.
        QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS: String(12 * 1024 * 1024),
        QUERY_STALL_TIMEOUT_MS: '1000',
      },
    });
    await postBigAlerts(receiver.port);
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('refuses a second list past QUERY_MAX_INFLIGHT_BYTES, cuts the stalled reader off, then serves again', async () => {
    const before = await receiver.metricsText();
    const first = await stalledReader(receiver.port);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const second = await fetch(url('/alerts?limit=1000'));
    expect(second.status).toBe(503);
    expect(second.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(second.headers.get('retry-after')).toBe('1');
    expect(((await second.json()) as { detail: string }).detail).toMatch(/QUERY_MAX_INFLIGHT_BYTES/);
    // Small reads still pass: the budget counts bytes, not readers.
    expect((await fetch(url('/alerts?limit=1'))).status).toBe(200);

    // No byte taken for QUERY_STALL_TIMEOUT_MS: cut off, and its bytes are free again.
    await expect
      .poll(async () => refused(await receiver.metricsText(), 'stalled') - refused(before, 'stalled'), {
        timeout: 10_000,
      })
      .toBe(1);
    first.destroy();
    const third = await fetch(url('/alerts?limit=1000'));
    expect(third.status).toBe(200);
    expect(((await third.json()) as { truncated?: boolean }).truncated).toBe(true);

    const after = await receiver.metricsText();
    expect(refused(after, 'inflight_bytes') - refused(before, 'inflight_bytes')).toBe(1);
    expect(refused(after, 'stalled') - refused(before, 'stalled')).toBe(1);
  }, 20_000);
});

// Regression (security review): four lists of one address that were never read, asked for again
// as each was cut off after QUERY_STALL_TIMEOUT_MS, held the whole budget: every other reader got
// 503 (35 of 35 tries over 70 s).
describe("one client address's share of the readers' budget", () => {
  let receiver: TestReceiver;
  const stalled: net.Socket[] = [];

  beforeAll(async () => {
    // 24 MiB in all, a quarter (6 MiB) per address: three stalled full lists would hold it all.
    receiver = await startReceiver({
      keepLogLines: false,
      env: { QUERY_MAX_INFLIGHT_BYTES: String(24 * 1024 * 1024) },
    });
    await postBigAlerts(receiver.port);
  });
  afterAll(async () => {
    for (const socket of stalled) socket.destroy();
    await receiver?.close();
  });

  it('holds one stalled list per address past its share, so another address still reads', async () => {
    const before = await receiver.metricsText();
    for (let i = 0; i < 3; i++) stalled.push(await stalledReader(receiver.port));
    await expect
      .poll(
        async () =>
          refused(await receiver.metricsText(), 'inflight_per_address') -
          refused(before, 'inflight_per_address'),
      )
      .toBe(2);

    const other = await getFrom(receiver.port, '/alerts?limit=1000', '127.0.0.2');
    const same = await getFrom(receiver.port, '/alerts?limit=1', '127.0.0.1');

    expect(other.status).toBe(200);
    expect((JSON.parse(other.body) as { truncated?: boolean }).truncated).toBe(true);
    expect(same.status).toBe(503);
    expect(same.retryAfter).toBe('1');
    expect((JSON.parse(same.body) as { detail: string }).detail).toMatch(
      /QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS/,
    );
    const after = await receiver.metricsText();
    expect(refused(after, 'inflight_per_address') - refused(before, 'inflight_per_address')).toBe(3);
    expect(refused(after, 'inflight_bytes') - refused(before, 'inflight_bytes')).toBe(0);
  });
});

describe('createReadBudget', () => {
  const MiB = 1024 * 1024;
  const response = () => new ServerResponse(new IncomingMessage(new net.Socket()));

  // Regression (probing) for admitOrRefuse: admitted holding nothing, the route went on to read the
  // store outside the budget, once for each request of a closed connection Express still routed.
  it('holds nothing for a client that left (its close has already fired), and tells its route to stop', () => {
    const budget = createReadBudget(
      { maxInflightBytes: 100, maxInflightBytesPerAddress: 100, stallMs: 1000, maxPinnedBytes: 1e9 },
      new Registry(),
    );
    const gone = response();
    gone.destroy();

    expect(budget.admit(gone, 80)).toBeUndefined();
    expect(admitOrRefuse(budget, gone as unknown as express.Response, 80)).toBe(false);
    expect(gone.headersSent).toBe(false);
    expect(budget.inflight()).toBe(0);
    expect(budget.admit(response(), 80)).toBeUndefined();
    expect(budget.inflight()).toBe(80);
  });

  // The dashboard asks for its counts (GET /ui/summary, about 64 KB at most) beside its alert list,
  // whose reservation is the address's whole share (QUERY_MAX_BYTES) until the store is read: the
  // counts were refused at each such load (found by review).
  it("admits one small answer past the address's share, not two, nor a large one", () => {
    const budget = createReadBudget(
      {
        maxInflightBytes: 32 * MiB,
        maxInflightBytesPerAddress: 8 * MiB,
        stallMs: 10_000,
        maxPinnedBytes: 1e9,
      },
      new Registry(),
    );
    expect(budget.admit(response(), 8 * MiB)).toBeUndefined();

    expect(budget.admit(response(), 64 * 1024)).toBeUndefined();
    expect(budget.admit(response(), 64 * 1024)?.status).toBe(503);
    expect(budget.admit(response(), 1 * MiB)?.status).toBe(503);
    expect(budget.inflight()).toBe(8 * MiB + 64 * 1024);
  });

  // The page asks for its counts first (main.js: summary.refresh() before loadAlerts): with a
  // memory store the summary is admitted before the list's request comes, and the list, whose
  // reservation is the whole share, was refused (review of 788bf4e).
  it('admits the alert list after the small answer too, in the order the dashboard asks', () => {
    const budget = createReadBudget(
      {
        maxInflightBytes: 32 * MiB,
        maxInflightBytesPerAddress: 8 * MiB,
        stallMs: 10_000,
        maxPinnedBytes: 1e9,
      },
      new Registry(),
    );
    expect(budget.admit(response(), 64 * 1024)).toBeUndefined();
    expect(budget.admit(response(), 8 * MiB)).toBeUndefined();

    expect(budget.admit(response(), 64 * 1024)?.status).toBe(503);
    expect(budget.inflight()).toBe(8 * MiB + 64 * 1024);
  });

  it('gives the bytes back once the answer is out, and when the client leaves first', async () => {
    const budget = createReadBudget(
      { maxInflightBytes: 100, maxInflightBytesPerAddress: 100, stallMs: 10_000, maxPinnedBytes: 1e9 },
      new Registry(),
    );
    const held: ServerResponse[] = [];
    const admitted: unknown[] = [];
    const server = http.createServer((_req, res) => {
      admitted.push(budget.admit(res, 80));
      held.push(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
    try {
      // Answered: its bytes are free once the answer is written.
      const answered = fetch(url);
      await expect.poll(() => held.length).toBe(1);
      held[0]!.end('done');
      expect(await (await answered).text()).toBe('done');
      await expect.poll(() => budget.inflight()).toBe(0);
      // The client leaves before any answer: free as well.
      const leaving = new AbortController();
      const gone = fetch(url, { signal: leaving.signal }).catch(() => undefined);
      await expect.poll(() => held.length).toBe(2);
      expect(budget.inflight()).toBe(80);
      leaving.abort();
      await gone;
      await expect.poll(() => budget.inflight()).toBe(0);
      expect(admitted).toEqual([undefined, undefined]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  // Regression: a reader's stall was timed on the wall clock: an NTP step forward of the receiver's
  // node cut off, as stalled, every reader that had not taken a byte at the next check (a client
  // whose window was full for a moment), its export or list broken off.
  it('does not cut off a reader paused for less than stallMs when the wall clock steps forward', async () => {
    const registry = new Registry();
    const budget = createReadBudget(
      { maxInflightBytes: 1e9, maxInflightBytesPerAddress: 1e9, stallMs: 2_000, maxPinnedBytes: 1e9 },
      registry,
    );
    const answers: ServerResponse[] = [];
    const server = http.createServer((_req, res) => {
      budget.admit(res, 8e6);
      answers.push(res);
      // More than the kernel's socket buffers take from a client that does not read.
      res.end(Buffer.alloc(8e6));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const reader = await stalledReader((server.address() as net.AddressInfo).port);
    try {
      await expect.poll(() => answers.length).toBe(1);
      // Only Date is faked: the wall clock, stepped an hour; timers keep real time.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000, shouldAdvanceTime: true });
      // Past a check (every 500 ms), well within stallMs of the reader's last byte.
      await new Promise((resolve) => setTimeout(resolve, 1_000));

      expect(answers[0]!.socket?.destroyed).toBe(false);
      expect(await metricValue(registry, 'falco_alert_reads_refused_total', { reason: 'stalled' })).toBe(0);
    } finally {
      vi.useRealTimers();
      reader.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

// Regression (review): each GET /alerts read its list out of the store first and asked the budget
// after, and requests pipelined on one connection each read before any was admitted: 60 of them,
// never read, ran the image's 128 MB heap out of memory with 10,000 alerts of 3 KB stored.
describe('lists asked for at once on one connection', () => {
  const built = buildTestApp({
    env: {
      QUERY_MAX_INFLIGHT_BYTES: String(12 * 1024 * 1024),
      QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS: String(12 * 1024 * 1024),
    },
  });
  let server: http.Server;
  let port: number;
  let reads = 0;

  beforeAll(async () => {
    const query = built.store.query.bind(built.store);
    built.store.query = (q) => {
      reads++;
      return query(q);
    };
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    port = (server.address() as net.AddressInfo).port;
    await postBigAlerts(port);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads the store only for the lists the budget holds: the rest are refused before it is read', async () => {
    const before = await metricValue(built.metrics.registry, 'falco_alert_reads_refused_total', {
      reason: 'inflight_bytes',
    });
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write('GET /alerts?limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(20));
    try {
      await expect
        .poll(
          async () =>
            (await metricValue(built.metrics.registry, 'falco_alert_reads_refused_total', {
              reason: 'inflight_bytes',
            })) - before,
        )
        .toBe(19);
      // One list of about 9 MB (QUERY_MAX_BYTES and the alert past it) is held; nineteen never read.
      expect(reads).toBe(1);
      // A small list still fits beside it.
      expect((await fetch(`http://127.0.0.1:${port}/alerts?limit=1`)).status).toBe(200);
      expect(reads).toBe(2);
    } finally {
      socket.destroy();
    }
  });
});

// The stall watch sees a connection's progress only between writes (bytesWritten counts a write
// once it is handed to libuv), and a /metrics answer is one write of the whole render: a scrape
// read steadily but slower than its render per stall timeout was cut off as stalled (review of
// 97f69a8; at the defaults, a 2.8 MB render read at less than about 280 KB/s).
// One write of a large answer was seen to progress only once it was all taken: read steadily over
// a slow link, slower than its size per stall timeout, it was cut off as stalled (review).
describe.each([
  [
    'GET /metrics',
    (body: Buffer, budget: ReadBudget) =>
      createMetricsRouter('text/plain', () => Promise.resolve(body), budget),
  ],
  [
    'a trigger run list',
    (body: Buffer, budget: ReadBudget) =>
      express.Router().get('/metrics', (req, res) => sendRuns(req, res, body.toString(), [], budget)),
  ],
])('%s read steadily over a slow link', (_name, route) => {
  it('is read to its end, not cut off as stalled', async () => {
    const registry = new Registry();
    const budget = createReadBudget(
      {
        maxInflightBytes: 64 * 1024 * 1024,
        maxInflightBytesPerAddress: 64 * 1024 * 1024,
        stallMs: 1_000,
        maxPinnedBytes: 1e9,
      },
      registry,
    );
    // More than loopback's socket buffers take at once, read at 4 MB/s: about 6 s.
    const size = 32 * 1024 * 1024;
    const app = express();
    app.use(route(Buffer.alloc(size, 'x'), budget));
    const server = await startServer(app, { host: '127.0.0.1', port: 0 });
    const port = (server.address() as net.AddressInfo).port;
    try {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      let received = 0;
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        socket.pause();
      });
      const reader = setInterval(() => socket.resume(), 5);
      socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      clearInterval(reader);
      expect(received).toBeGreaterThan(size);
      expect(await metricValue(registry, 'falco_alert_reads_refused_total', { reason: 'stalled' })).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 30_000);
});

// A client that reads slowly is never stalled, and each /metrics answer pins the render of its
// second until it is read to its end: slow readers that scraped in distinct seconds (pipelined, or
// a connection each) held a render each, without bound (found by review). Renders pinned by answers
// not yet done are held within maxPinnedBytes: past it, the connections of the oldest render's
// answers are cut off.
describe('scrapes read slowly, each pinning the render of its second', () => {
  const MiB = 1024 * 1024;
  const RENDER = 16 * MiB;
  const MAX_PINNED = 32 * MiB;

  // Pipelines a scrape every `everyMs` and takes one chunk (at most 64 KiB) every 100 ms, about
  // 640 KB/s: never stalled, and a render of RENDER takes it longer than the attack.
  function slowScraper(port: number, everyMs: number) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.on('data', () => socket.pause());
    socket.pause();
    const scrape = () => socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    socket.once('connect', scrape);
    const asking = setInterval(scrape, everyMs);
    const reading = setInterval(() => socket.resume(), 100);
    socket.once('close', () => {
      clearInterval(asking);
      clearInterval(reading);
    });
    return socket;
  }

  it('hold at most maxPinnedBytes of renders: the oldest are cut off, and a scrape beside them is answered', async () => {
    const registry = new Registry();
    const budget = createReadBudget(
      {
        maxInflightBytes: 64 * MiB,
        maxInflightBytesPerAddress: 64 * MiB,
        // Cut off as stalled after 10 s (METRICS_STALL_MS): never, at this reader's pace.
        stallMs: 60_000,
        maxPinnedBytes: MAX_PINNED,
      },
      registry,
    );
    let renders = 0;
    const render = () => {
      renders++;
      return Promise.resolve(`# render ${renders}\n`.padEnd(RENDER, 'x'));
    };
    const app = express();
    app.use(createMetricsRouter('text/plain', shareMetricsRender(render), budget));
    const server = await startServer(app, { host: '127.0.0.1', port: 0 });
    const port = (server.address() as net.AddressInfo).port;
    const heldBefore = arrayBuffersAfterGc();
    const scrapers: net.Socket[] = [];
    // A new scraper every 500 ms for 6 s (a connection each: node:http reads a connection's next
    // request only as its answers are taken), and what the renders take measured each time.
    let held = 0;
    const attack = setInterval(() => {
      scrapers.push(slowScraper(port, 700));
      held = Math.max(held, arrayBuffersAfterGc() - heldBefore);
    }, 500);
    try {
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      // Read as Prometheus reads, at once; its chunks dropped as they come, so that only what the
      // server holds is measured.
      const beside = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(beside.status).toBe(200);
      let read = 0;
      for await (const chunk of beside.body!) read += (chunk as Uint8Array).length;
      expect(read).toBe(RENDER);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      clearInterval(attack);

      // Without the bound, each render stayed pinned: 5 renders, 80 MiB by the end. With it, two
      // (MAX_PINNED), and the clients' read buffers.
      expect(renders).toBeGreaterThanOrEqual(4);
      expect(held).toBeLessThan(MAX_PINNED + RENDER);
      expect(
        await metricValue(registry, 'falco_alert_reads_refused_total', { reason: 'pinned_renders' }),
      ).toBeGreaterThan(0);
      expect(await metricValue(registry, 'falco_alert_reads_refused_total', { reason: 'stalled' })).toBe(0);
    } finally {
      clearInterval(attack);
      for (const socket of scrapers) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 30_000);
});
