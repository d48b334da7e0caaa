import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { limitPipelining, MAX_PIPELINED_REQUESTS } from '../../src/http/limit-pipelining.js';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { openRaw } from '../helpers/raw-connection.js';
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
async function holdingServer(answerAtOnce = false) {
  const routed: Array<{ url: string; res: http.ServerResponse }> = [];
  const paused: net.Socket[] = [];
  let parsed = 0;
  server = http.createServer(
    limitPipelining(
      (req, res) => {
        routed.push({ url: req.url ?? '', res });
        if (answerAtOnce) res.end(req.url);
      },
      (socket) => paused.push(socket),
    ),
  );
  // Every request node:http has parsed, routed or not.
  server.on('request', () => parsed++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const answer = (count: number) => {
    for (const { url, res } of routed.filter(({ res }) => !res.writableEnded).slice(0, count)) res.end(url);
  };
  return { routed, paused, parsed: () => parsed, answer, port: boundPort(server) };
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
    await expect
      .poll(
        () => {
          held.answer(MAX_PIPELINED_REQUESTS);
          return answersIn(client.received()).length;
        },
        { interval: 20, timeout: 10_000 },
      )
      .toBe(200);
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
});
