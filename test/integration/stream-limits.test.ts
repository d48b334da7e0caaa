import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRaw, type RawConnection } from '../helpers/raw-connection.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const KiB = 1024;
const PER_ADDRESS = 3;

const streamRequest = 'GET /alerts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const metricValue = (text: string, series: string) =>
  Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? 'NaN');

async function openStream(port: number, localAddress?: string): Promise<RawConnection> {
  const connection = await openRaw(port, localAddress);
  connection.write(streamRequest);
  await expect.poll(() => /^HTTP\/1\.1 \d{3}/.test(connection.received())).toBe(true);
  return connection;
}

const alertOf = (index: number, size: number) =>
  JSON.stringify({
    rule: `Stream ${index}`,
    priority: 'Notice',
    time: '2026-11-30T12:00:00.000000000Z',
    output: 'x'.repeat(size),
  });

// Regression (issue 18.8): 100 idle streams from one client made the 101st 429 for everyone, and
// paused readers of 1 MB alerts added about 130 MB.
describe('live stream limits', () => {
  let receiver: TestReceiver;
  const connections: RawConnection[] = [];
  beforeAll(async () => {
    receiver = await startReceiver({
      keepLogLines: false,
      env: {
        STREAM_MAX_CLIENTS_PER_ADDRESS: String(PER_ADDRESS),
        STREAM_CLIENT_MAX_BUFFERED_BYTES: String(1536 * KiB),
        STREAM_MAX_BUFFERED_BYTES: String(3072 * KiB),
      },
    });
  });
  afterAll(async () => {
    for (const connection of connections) connection.socket.destroy();
    await receiver?.close();
  });

  it('refuses a client past STREAM_MAX_CLIENTS_PER_ADDRESS with 429 while another address still gets in', async () => {
    for (let index = 0; index < PER_ADDRESS; index++) connections.push(await openStream(receiver.port));
    const refused = await openStream(receiver.port);
    const other = await openStream(receiver.port, '127.0.0.2');
    connections.push(refused, other);

    expect(connections.slice(0, PER_ADDRESS).map((c) => c.received().slice(0, 12))).toEqual(
      Array(PER_ADDRESS).fill('HTTP/1.1 200'),
    );
    expect(refused.received()).toMatch(/^HTTP\/1\.1 429/);
    expect(refused.received()).toMatch(/application\/problem\+json/);
    expect(refused.received()).toContain('STREAM_MAX_CLIENTS_PER_ADDRESS');
    expect(other.received()).toMatch(/^HTTP\/1\.1 200/);
    const metrics = await receiver.metricsText();
    expect(metricValue(metrics, 'falco_stream_refused_total{reason="max_per_address"}')).toBe(1);
    for (const connection of connections.splice(0)) connection.socket.destroy();
  });

  it('cuts off paused readers past the per-stream and total buffer bounds, counted, while a reader keeps up', async () => {
    const addresses = ['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8'];
    const paused = await Promise.all(addresses.map((address) => openStream(receiver.port, address)));
    for (const connection of paused) connection.socket.pause();
    const reader = await openStream(receiver.port, '127.0.0.9');
    connections.push(...paused, reader);

    // 40 alerts of 512 KiB: 20 MiB per reader, more than the kernel's socket buffers hold.
    const alerts = 40;
    for (let index = 0; index < alerts; index++) {
      const res = await fetch(`http://127.0.0.1:${receiver.port}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: alertOf(index, 512 * KiB),
      });
      expect(res.status).toBe(202);
    }

    const dropped = async () => {
      const metrics = await receiver.metricsText();
      return {
        client_buffer: metricValue(metrics, 'falco_stream_clients_dropped_total{reason="client_buffer"}'),
        total_buffer: metricValue(metrics, 'falco_stream_clients_dropped_total{reason="total_buffer"}'),
      };
    };
    await expect
      .poll(async () => Object.values(await dropped()).reduce((a, b) => a + b), { timeout: 10_000 })
      .toBe(paused.length);
    await expect
      .poll(() => (reader.received().match(/^event: alert$/gm) ?? []).length, { timeout: 10_000 })
      .toBe(alerts);
    expect((await dropped()).total_buffer).toBeGreaterThanOrEqual(1);
    // Once they read again, the cut-off readers find their connections closed.
    for (const connection of paused) connection.socket.resume();
    await expect
      .poll(() => paused.every((connection) => connection.isClosed()), { timeout: 10_000 })
      .toBe(true);
    expect(reader.isClosed()).toBe(false);
  });
});
