import http, { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadBudget } from '../../src/http/read-budget.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

// A client that asks for the whole list and then never reads: what an attacker keeps open.
async function stalledReader(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.pause();
  socket.write('GET /alerts?limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  return socket;
}

const refused = (text: string, reason: string) =>
  Number(new RegExp(`falco_alert_reads_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);

describe('alert lists held for readers that do not read', () => {
  let receiver: TestReceiver;
  const url = (path: string) => `http://127.0.0.1:${receiver.port}${path}`;

  beforeAll(async () => {
    receiver = await startReceiver({
      keepLogLines: false,
      env: { QUERY_MAX_INFLIGHT_BYTES: String(12 * 1024 * 1024), QUERY_STALL_TIMEOUT_MS: '1000' },
    });
    // Twelve alerts of 900 KB: one full list is about 8 MB (QUERY_MAX_BYTES), more than the
    // kernel's socket buffers take from a client that does not read.
    const output = 'x'.repeat(900 * 1024);
    for (let i = 0; i < 12; i++) {
      const body = JSON.stringify({
        rule: `big ${i}`,
        priority: 'Notice',
        time: '2026-12-01T10:00:00Z',
        output,
      });
      const res = await fetch(url('/alerts'), {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(202);
    }
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

describe('createReadBudget', () => {
  const response = () => new ServerResponse(new IncomingMessage(new net.Socket()));

  it('holds nothing for a client that left while the store answered (its close has already fired)', () => {
    const budget = createReadBudget({ maxInflightBytes: 100, stallMs: 1000 }, new Registry());
    const gone = response();
    gone.destroy();

    expect(budget.admit(gone, 80)).toBe(true);
    expect(budget.inflight()).toBe(0);
    expect(budget.admit(response(), 80)).toBe(true);
    expect(budget.inflight()).toBe(80);
  });

  it('gives the bytes back once the answer is out, and when the client leaves first', async () => {
    const budget = createReadBudget({ maxInflightBytes: 100, stallMs: 10_000 }, new Registry());
    const held: ServerResponse[] = [];
    const admitted: boolean[] = [];
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
      expect(admitted).toEqual([true, true]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
