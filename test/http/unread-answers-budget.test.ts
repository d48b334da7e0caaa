import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/start-server.js';
import { ruleAlert } from '../helpers/post-alerts.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';

// Each summary lists ten rules of 1,024 characters that JSON writes as six bytes each: about 62 KB.
const controlRule = (i: number) => String.fromCharCode(1 + i).repeat(1_100);
// Rules of 190 characters, each its own series: a /metrics of a few hundred KB.
const longRule = (i: number) => `Rule ${i} `.padEnd(190, 'x');
// More than the loopback socket's buffers take from a client that does not read.
const PIPELINED = 400;

// Regressions (review): GET /ui/summary (up to about 64 KB) and GET /metrics (up to 2.8 MB at the
// label caps, a new render each second) answered from outside the readers' budget, so answers
// pipelined on connections that never read were all built and held: 40 summaries on each of 720
// connections took the process from 150 to 226 MB, still rising.
describe('answers held for readers that do not read', () => {
  let built: ReturnType<typeof buildTestApp>;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    built = buildTestApp({
      env: {
        QUERY_MAX_INFLIGHT_BYTES: String(1024 * 1024),
        QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS: String(1024 * 1024),
        QUERY_STALL_TIMEOUT_MS: '60000',
        METRICS_MAX_RULES: '1000',
        METRICS_MAX_SERIES: '10000',
      },
    });
    for (let i = 0; i < 12; i++)
      built.store.add(makeStoredAlert({ rule: controlRule(i) }, { receivedAtMs: Date.now(), bytes: 100 }));
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (let i = 0; i < 600; i++) {
      const answer = await fetch(`${base}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: ruleAlert(longRule(i)),
      });
      expect(answer.status).toBe(202);
    }
  }, 30_000);
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it.each(['/ui/summary?window=15m', '/metrics'])(
    'holds at most QUERY_MAX_INFLIGHT_BYTES of %s pipelined on a connection that does not read',
    async (path) => {
      const refused = () =>
        metricValue(built.metrics.registry, 'falco_alert_reads_refused_total', { reason: 'inflight_bytes' });
      const before = await refused();
      const socket = net.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.pause();
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`.repeat(PIPELINED));

      // Past what the kernel took, the answers held reach 1 MiB and the next are refused (Node
      // reads no more of a connection's requests once its answers wait unwritten).
      await expect.poll(async () => (await refused()) - before, { timeout: 10_000 }).toBeGreaterThan(0);
      const refusal = await fetch(base + path);
      expect(refusal.status).toBe(503);
      expect(((await refusal.json()) as { detail: string }).detail).toMatch(/counts or metrics/);

      // Given back once that reader is gone.
      socket.destroy();
      await expect.poll(async () => (await fetch(base + path)).status).toBe(200);
    },
    30_000,
  );
});
