import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/start-server.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';

// Each summary lists ten rules of 1,024 characters that JSON writes as six bytes each: about 62 KB.
const RULES = 12;
const controlRule = (i: number) => String.fromCharCode(1 + i).repeat(1_100);
// More than the loopback socket's buffers take from a client that does not read.
const PIPELINED = 400;

// Regression (review): GET /ui/summary answered from outside the readers' budget, so summaries
// pipelined on connections that never read were all built and held: 40 on each of 720 connections
// took the process from 150 to 226 MB, still rising.
describe('summaries held for readers that do not read', () => {
  let built: ReturnType<typeof buildTestApp>;
  let server: http.Server;

  beforeAll(async () => {
    built = buildTestApp({
      env: {
        QUERY_MAX_INFLIGHT_BYTES: String(1024 * 1024),
        QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS: String(1024 * 1024),
        QUERY_STALL_TIMEOUT_MS: '60000',
      },
    });
    for (let i = 0; i < RULES; i++)
      built.store.add(makeStoredAlert({ rule: controlRule(i) }, { receivedAtMs: Date.now(), bytes: 100 }));
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('holds at most QUERY_MAX_INFLIGHT_BYTES of summaries pipelined on a connection that does not read', async () => {
    const refused = () =>
      metricValue(built.metrics.registry, 'falco_alert_reads_refused_total', { reason: 'inflight_bytes' });
    const socket = net.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write('GET /ui/summary?window=15m HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(PIPELINED));

    // Answers of about 62 KB: past what the kernel took, those held reach 1 MiB, and the next are
    // refused (Node reads no more of a connection's requests once its answers wait unwritten).
    await expect.poll(refused, { timeout: 10_000 }).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${base}/ui/summary?window=15m`)).status).toBe(503);

    // Given back once that reader is gone.
    socket.destroy();
    await expect.poll(async () => (await fetch(`${base}/ui/summary?window=15m`)).status).toBe(200);
  }, 30_000);
});
