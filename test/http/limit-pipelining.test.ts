import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  limitPipelining,
  MAX_PIPELINED_REQUESTS,
  type PipeliningLimits,
} from '../../src/http/limit-pipelining.js';
import { PAUSED_LOG_EVERY_MS } from '../../src/http/app-lines.js';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { openRaw, type RawConnection } from '../helpers/raw-connection.js';
import { heapUsedAfterGc } from '../helpers/heap.js';
import { postPipelined } from '../helpers/pipelined-posts.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

const requests = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `GET /${from + i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`).join('');
const answersIn = (text: string) =>
  [...text.matchAll(/HTTP\/1\.1 200 OK[\s\S]*?\r\n\r\n(\/\d+)/g)].map((m) => m[1]);

// A server whose answers are written only when the test says so (what a slow route, or a client
// that reads slowly, looks like to the requests pipelined behind), or at once.
async function holdingServer(answerAtOnce = false, limits: Partial<PipeliningLimits> = {}) {
  const routed: Array<{ url: string; res: http.ServerResponse }> = [];
  const paused: net.Socket[] = [];
  const cut: net.Socket[] = [];
  let parsed = 0;
  server = http.createServer(
    limitPipelining(
      (req, res) => {
        routed.push({ url: req.url ?? '', res });
        if (answerAtOnce) res.end(req.url);
      },
      (socket) => paused.push(socket),
      (socket) => cut.push(socket),
      limits,
    ),
  );
  // Every request node:http has parsed, routed or not.
  server.on('request', () => parsed++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const answer = (count: number) => {
    for (const { url, res } of routed.filter(({ res }) => !res.writableEnded).slice(0, count)) res.end(url);
  };
  return { routed, paused, cut, parsed: () => parsed, answer, port: boundPort(server) };
}

// Answers the routed requests as they come until `client` has `count` answers.
async function answerAll(held: { answer: (count: number) => void }, client: RawConnection, count: number) {
  await expect
    .poll(
      () => {
        held.answer(MAX_PIPELINED_REQUESTS);
        return answersIn(client.received()).length;
      },
      { interval: 20, timeout: 10_000 },
    )
    .toBe(count);
}

describe('limitPipelining', () => {
  it('routes at most MAX_PIPELINED_REQUESTS of a connection before their answers, the rest as answers go out', async () => {
    const held = await holdingServer();
    const client = await openRaw(held.port);
    client.write(requests(0, 100));

    await expect.poll(() => held.parsed()).toBe(100);
    expect(held.routed).toHaveLength(MAX_PIPELINED_REQUESTS);
    expect(held.paused).toHaveLength(1);

    // The socket is not read while requests wait: the next ones stay in the kernel, also once
    // answers go out (node:http resumes a socket as an answer ends).
    client.write(requests(100, 100));
    held.answer(5);
    await expect.poll(() => held.routed.length).toBe(MAX_PIPELINED_REQUESTS + 5);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(held.parsed()).toBe(100);

    // Answered as they come, every request is routed, once, in order, and answered.
    await answerAll(held, client, 200);
    expect(held.routed.map(({ url }) => url)).toEqual(Array.from({ length: 200 }, (_, i) => `/${i}`));
    expect(answersIn(client.received())).toEqual(Array.from({ length: 200 }, (_, i) => `/${i}`));
    expect(held.paused).toHaveLength(1);
    client.socket.destroy();
  });

  it('routes no more of the waiting requests once their client is seen to have left', async () => {
    const held = await holdingServer();
    const client = await openRaw(held.port);
    client.write(requests(0, 100));
    await expect.poll(() => held.routed.length).toBe(MAX_PIPELINED_REQUESTS);

    // A paused socket reads no end of stream: the client's leaving is seen when answers are written.
    client.socket.destroy();
    await expect
      .poll(
        () => {
          held.answer(MAX_PIPELINED_REQUESTS);
          return held.paused[0]!.destroyed;
        },
        { interval: 20 },
      )
      .toBe(true);
    const routed = held.routed.length;
    held.answer(MAX_PIPELINED_REQUESTS);
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(held.routed).toHaveLength(routed);
    expect(routed).toBeLessThan(100);
  });

  // Regression (probing): each request read behind an answer holds node:http's request and answer
  // objects, and one read brings up to 64 KiB of them; connections that pipelined without reading
  // their answers ran the heap out.
  it('closes a connection whose pipelined request would pass the bounds, and routes the others', async () => {
    const held = await holdingServer(false, { maxHeld: 150, maxHeldPerAddress: 100 });
    const first = await openRaw(held.port);
    first.write(requests(0, 90));
    await expect.poll(() => held.parsed()).toBe(90);

    // Behind its first request, the address's second connection has 11 more, then the address
    // holds 100: it is closed, and the rest of what it sent is never handed over.
    const second = await openRaw(held.port);
    second.write(requests(100, 90));
    await second.closed;
    expect(held.cut).toHaveLength(1);
    expect(held.routed).toHaveLength(MAX_PIPELINED_REQUESTS + 12);
    expect(held.parsed()).toBe(90 + 13);

    // Another address gets the rest of the total, then its connection is closed too.
    const other = await openRaw(held.port, '127.0.0.2');
    other.write(requests(200, 90));
    await other.closed;
    expect(held.cut).toHaveLength(2);

    // The first connection's requests are all routed and answered, and what they and the closed
    // ones held is given back: a connection of a third address has as many as its address may.
    await answerAll(held, first, 90);
    const parsed = held.parsed();
    const third = await openRaw(held.port, '127.0.0.3');
    third.write(requests(300, 101));
    await expect.poll(() => held.parsed()).toBe(parsed + 101);
    expect(third.isClosed()).toBe(false);
    expect(held.cut).toHaveLength(2);
    for (const connection of [first, third]) connection.socket.destroy();
  });

  // Review: a count not given back would fill the bounds slowly and then close every connection
  // that pipelines. After connections that pipelined and were answered, left mid-way, sent
  // malformed requests, had their connection closed by a route, waited on slow answers or were
  // closed at the bounds, exactly `maxHeld` are held again and not one more.
  it('gives back all it held, whichever way its connections ended', async () => {
    const limits = { maxHeld: 64, maxHeldPerAddress: 64 };
    const held = await holdingServer(false, limits);
    // Answered a few ms after they are routed; `/cut` has its route close the connection.
    const answerAsRouted = setInterval(() => {
      for (const { url, res } of held.routed) {
        if (res.writableEnded) continue;
        if (url === '/cut') res.req.socket.destroy();
        else res.end(url);
      }
    }, 2);
    const endings = [
      (n: number) => requests(0, n),
      (n: number) => requests(0, n) + 'NOT HTTP\r\n\r\n',
      (n: number) => requests(0, 3) + 'GET /cut HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' + requests(3, n),
    ];
    try {
      for (let i = 0; i < 120; i++) {
        const client = await openRaw(held.port, `127.0.0.${2 + (i % 3)}`);
        client.write(endings[i % endings.length]!(1 + ((i * 37) % 110)));
        await new Promise((resolve) => setTimeout(resolve, i % 5));
        if (i % 4 === 0) client.socket.destroy();
        else client.socket.end();
      }
      await expect.poll(() => held.routed.every(({ res }) => res.writableEnded || res.destroyed)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      clearInterval(answerAsRouted);
    }
    expect(held.cut.length).toBeGreaterThan(0);

    // Nothing is answered from now on: one connection holds the 64 requests read behind its first.
    const cut = held.cut.length;
    const parsed = held.parsed();
    const full = await openRaw(held.port, '127.0.0.2');
    full.write(requests(1_000, 1 + limits.maxHeld));
    await expect.poll(() => held.parsed()).toBe(parsed + 1 + limits.maxHeld);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(full.isClosed()).toBe(false);
    const past = await openRaw(held.port, '127.0.0.3');
    past.write(requests(2_000, 2));
    await expect.poll(() => held.cut.length).toBe(cut + 1);
    for (const connection of [full, past]) connection.socket.destroy();
  }, 30_000);

  it('leaves a keep-alive connection that sends one request at a time alone', async () => {
    const held = await holdingServer(true);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    try {
      for (let i = 0; i < 50; i++) {
        const body = await new Promise<string>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port: held.port, path: `/${i}`, agent }, (res) => {
              ports.add(res.socket.localPort!);
              let text = '';
              res.on('data', (chunk: Buffer) => (text += chunk.toString()));
              res.on('end', () => resolve(text));
            })
            .on('error', reject);
        });
        expect(body).toBe(`/${i}`);
      }
    } finally {
      agent.destroy();
    }
    expect(ports.size).toBe(1);
    expect(held.paused).toHaveLength(0);
  });
});

describe('pipelining past the depth on the app', () => {
  it('answers every request, counts the connection once and logs it once', async () => {
    const built = buildTestApp();
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    const client = await openRaw(boundPort(server));
    client.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(200));

    await expect.poll(() => client.received().match(/HTTP\/1\.1 200 OK/g)?.length ?? 0).toBe(200);
    expect(await metricValue(built.metrics.registry, 'falco_http_connections_paused_total')).toBe(1);
    const lines = built.logLines.filter((line) => line.event === 'pipelining_paused');
    expect(lines).toEqual([
      expect.objectContaining({ caller: '127.0.0.1', maxPipelined: MAX_PIPELINED_REQUESTS, level: 'warn' }),
    ]);
    client.socket.destroy();
  });

  // Regression: a line per connection that pipelined past the depth, so any client that could
  // connect chose how many lines were written (40 connections, 40 lines).
  it('logs the first paused connection at once and sums the rest into lines that add up to the metric', async () => {
    const built = buildTestApp();
    server = await startServer(built.app, { host: '127.0.0.1', port: 0, flushLines: built.flushLines });
    const started = performance.now();
    for (let i = 0; i < 40; i++) {
      const client = await openRaw(boundPort(server));
      client.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(100));
      await expect.poll(() => client.received().match(/HTTP\/1\.1 200 OK/g)?.length ?? 0).toBe(100);
      client.socket.destroy();
    }
    const paused = () => built.logLines.filter((line) => line.event === 'pipelining_paused');
    const periods = Math.ceil((performance.now() - started) / PAUSED_LOG_EVERY_MS);
    expect(await metricValue(built.metrics.registry, 'falco_http_connections_paused_total')).toBe(40);
    // The first at once, with its fields; then at most one a period.
    expect(paused()[0]).toMatchObject({
      caller: '127.0.0.1',
      maxPipelined: MAX_PIPELINED_REQUESTS,
      count: 1,
    });
    expect(paused().length).toBeLessThanOrEqual(1 + periods);

    // Once the listener closes, what the period held back is written: the counts add up to 40.
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    expect(paused().length).toBeLessThanOrEqual(2 + periods);
    expect(paused().reduce((sum, line) => sum + Number(line.count), 0)).toBe(40);
  });
});

describe('connections pipelining without reading their answers', () => {
  // GET /openapi.json answers 45 KB: the kernel's buffers of a client that does not read fill after
  // a hundred, and its later requests wait. 1,500 of them are one 57 KB write.
  const unread = async (port: number, localAddress: string) => {
    const client = await openRaw(port, localAddress);
    client.socket.pause();
    client.write('GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(1_500));
    return client;
  };

  // Regression (probing): 200 connections of one address pipelining `GET /healthz` unread took the
  // image's 128 MiB heap in 2 s, and the process died.
  it('are closed past the requests waiting their turn, counted and logged, while alerts are taken', async () => {
    const built = buildTestApp();
    server = await startServer(built.app, { host: '127.0.0.1', port: 0, flushLines: built.flushLines });
    const port = boundPort(server);
    const before = heapUsedAfterGc();

    const clients: RawConnection[] = [];
    for (let i = 0; i < 24; i++) clients.push(await unread(port, `127.0.0.${2 + (i % 6)}`));
    // The kernel took every write; the server reads and parses them in the loop turns that follow.
    await expect.poll(() => clients.every((client) => client.socket.writableLength === 0)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    // What they hold is bounded: at most MAX_PIPELINED_HELD requests read behind an answer (about
    // 1.6 KB waiting, more routed): 17 MB, where 24 x 1,400 waiting took 62 MB (more with more).
    const held = heapUsedAfterGc() - before;
    expect(held).toBeLessThan(32 * 1024 * 1024);
    expect(clients.filter((client) => client.isClosed()).length).toBeGreaterThan(0);
    expect(
      await metricValue(built.metrics.registry, 'falco_http_connections_refused_total', {
        reason: 'pipelined_requests',
      }),
    ).toBeGreaterThan(0);
    expect(built.logLines).toContainEqual(
      expect.objectContaining({ level: 'warn', event: 'connection_refused', reason: 'pipelined_requests' }),
    );

    // A sensor posting one alert at a time is answered meanwhile.
    const res = await fetch(`http://127.0.0.1:${port}/alerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        rule: 'Canary',
        priority: 'Notice',
        time: new Date().toISOString(),
        output: 'x',
      }),
    });
    expect(res.status).toBe(202);
    for (const client of clients) client.socket.destroy();

    // Once the listener closes, the lines a period held back are written: they add up to the count.
    const refused = await metricValue(built.metrics.registry, 'falco_http_connections_refused_total', {
      reason: 'pipelined_requests',
    });
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    const logged = built.logLines
      .filter((line) => line['event'] === 'connection_refused' && line['reason'] === 'pipelined_requests')
      .reduce((sum, line) => sum + Number(line['count']), 0);
    expect(logged).toBe(refused);
  }, 60_000);

  // Regression (probing): Express still routed the requests of the connections closed here, and
  // each alert list among them read 1,000 alerts outside the readers' budget (60 at once, and
  // the 128 MiB heap ran out); see admitOrRefuse.
  it('read no alert list for the requests of the connections they closed', async () => {
    const built = buildTestApp();
    let reads = 0;
    const query = built.store.query.bind(built.store);
    built.store.query = (q) => {
      reads++;
      return query(q);
    };
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    const port = boundPort(server);
    const output = 'o'.repeat(3_000);
    await postPipelined(
      port,
      Array.from({ length: 1_000 }, (_, i) =>
        JSON.stringify({ rule: `Rule ${i}`, priority: 'Notice', time: new Date().toISOString(), output }),
      ),
    );

    const clients: RawConnection[] = [];
    for (let i = 0; i < 20; i++) {
      const client = await openRaw(port, '127.0.0.2');
      client.socket.pause();
      client.write('GET /alerts?limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(1_400));
      clients.push(client);
    }
    await expect
      .poll(() =>
        metricValue(built.metrics.registry, 'falco_http_connections_refused_total', {
          reason: 'pipelined_requests',
        }),
      )
      .toBeGreaterThan(0);
    // Routes past Express's hundredth layer are reached a loop turn or more later.
    await new Promise((resolve) => setTimeout(resolve, 500));

    // The budget holds one list of the address at a time; a connection closed gives its list's
    // room to the next. At most one list read per connection.
    expect(reads).toBeLessThanOrEqual(clients.length);
    for (const client of clients) client.socket.destroy();
  }, 60_000);
});
