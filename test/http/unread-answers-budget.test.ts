import type http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundPort, startServer } from '../../src/server/start-server.js';
import { postAlerts, ruleAlert } from '../helpers/post-alerts.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';

// Each summary lists ten rules of 1,024 characters that JSON writes as six bytes each: about 62 KB.
const controlRule = (i: number) => String.fromCharCode(1 + i).repeat(1_100);
// Rules of 190 characters, each its own series: a /metrics of about 160 KB.
const longRule = (i: number) => `Rule ${i} `.padEnd(190, 'x');
// More than the loopback socket's buffers take from a client that does not read.
const PIPELINED = 400;

/** A connection that asks for `path` PIPELINED times and never reads. */
async function unreadPipeline(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.pause();
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`.repeat(PIPELINED));
  return socket;
}

// A readers' budget of 1 MiB, readers cut off after `stallMs`; a store and metrics that make
// answers of tens of KB.
function useBudgetedApp(stallMs: number) {
  const app = {} as { built: ReturnType<typeof buildTestApp>; port: number; base: string };
  let server: http.Server | undefined;
  beforeAll(async () => {
    app.built = buildTestApp({
      env: {
        QUERY_MAX_INFLIGHT_BYTES: String(1024 * 1024),
        QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS: String(1024 * 1024),
        QUERY_STALL_TIMEOUT_MS: String(stallMs),
        METRICS_MAX_RULES: '1000',
        METRICS_MAX_SERIES: '10000',
      },
    });
    for (let i = 0; i < 12; i++)
      app.built.store.add(
        makeStoredAlert({ rule: controlRule(i) }, { receivedAtMs: Date.now(), bytes: 100 }),
      );
    server = await startServer(app.built.app, { host: '127.0.0.1', port: 0 });
    app.port = boundPort(server);
    app.base = `http://127.0.0.1:${app.port}`;
    for (let i = 0; i < 600; i++) await postAlerts(app.port, ruleAlert(longRule(i)), 1);
  }, 30_000);
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });
  const refused = (reason: string) =>
    metricValue(app.built.metrics.registry, 'falco_alert_reads_refused_total', { reason });
  return { app, refused };
}

// Regression (review): GET /ui/summary (up to about 64 KB) answered from outside the readers'
// budget, so summaries pipelined on connections that never read were all built and held: 40 on
// each of 720 connections took the process from 150 to 226 MB, still rising.
describe('summaries pipelined by a client that does not read', () => {
  const { app, refused } = useBudgetedApp(60_000);

  it('are held within QUERY_MAX_INFLIGHT_BYTES, past it refused', async () => {
    const path = '/ui/summary?window=15m';
    const socket = await unreadPipeline(app.port, path);

    // Past what the kernel took, the answers held reach 1 MiB and the next are refused (Node
    // reads no more of a connection's requests once its answers wait unwritten).
    await expect.poll(() => refused('inflight_bytes'), { timeout: 10_000 }).toBeGreaterThan(0);
    // Asked until refused: the kernel may still take more of the held answers (loopback grows its
    // buffers), which gives their bytes back until the pipeline's next ones fill the budget again
    // (a fresh-machine run got one 200 here).
    let refusal = await fetch(app.base + path);
    for (let tries = 1; refusal.status === 200 && tries < 20; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      refusal = await fetch(app.base + path);
    }
    expect(refusal.status).toBe(503);
    expect(((await refusal.json()) as { detail: string }).detail).toMatch(/trigger run lists or counts/);

    // Given back once that reader is gone.
    socket.destroy();
    await expect.poll(async () => (await fetch(app.base + path)).status).toBe(200);
  }, 30_000);
});

// A /metrics render (up to 2.8 MB at the label caps) is shared by the scrapes of its second: an
// answer pipelined on a connection that never read pinned its render for as long as that lived.
// Reserving each scrape's bytes counted one render once per answer and refused Prometheus while
// readers held the budget (review of 865b0e4): a scrape's reader is cut off instead.
describe('scrapes pipelined by a client that does not read', () => {
  const { app, refused } = useBudgetedApp(1_000);

  it('are cut off once stalled, and never refuse a scrape or a reader meanwhile', async () => {
    const socket = await unreadPipeline(app.port, '/metrics');
    await expect.poll(async () => (await fetch(`${app.base}/healthz`)).status).toBe(200);

    expect((await fetch(`${app.base}/metrics`)).status).toBe(200);
    expect((await fetch(`${app.base}/alerts?limit=1`)).status).toBe(200);
    // Its connection closed by the server (the paused socket does not read the close).
    await expect.poll(() => refused('stalled'), { timeout: 10_000 }).toBe(1);
    socket.destroy();
  }, 30_000);
});
