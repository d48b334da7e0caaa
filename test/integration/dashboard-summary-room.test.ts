import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

// Room for a thousand alerts by count, but only some 200 kB: ten of these large alerts.
const STORE_MAX_ALERTS = 1000;
const STORE_MAX_BYTES = 200_000;
const OUTPUT_CHARS = 20_000;

/** A Falco alert of always the same size, its output numbered so none repeats. */
function largeAlert(index: number): string {
  const output = `${String(index).padStart(6, '0')} ${'x'.repeat(OUTPUT_CHARS)}`;
  const time = new Date().toISOString();
  return JSON.stringify({ rule: 'Large alert', priority: 'Notice', time, source: 'syscall', output });
}

// Regression: room foresaw only STORE_MAX_ALERTS, so the page went on adding live alerts to counts
// whose oldest alerts the store had already evicted by STORE_MAX_BYTES.
describe('GET /ui/summary from the running service with a store bounded by bytes', () => {
  let service: ServiceProcess;
  let posted = 0;

  const post = async (count: number) => {
    for (let i = 0; i < count; i += 1) {
      const res = await fetch(`${service.baseUrl}/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: largeAlert(posted++),
      });
      expect(res.status).toBe(202);
    }
  };
  const summary = async (): Promise<{ total: number; room: number }> =>
    (await fetch(`${service.baseUrl}/ui/summary?window=15m`)).json() as Promise<{
      total: number;
      room: number;
    }>;

  beforeAll(async () => {
    service = await startServiceProcess({
      STORE_MAX_ALERTS: String(STORE_MAX_ALERTS),
      STORE_MAX_BYTES: String(STORE_MAX_BYTES),
    });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('says no more alerts fit than the bytes left allow, and that many keep every counted alert', async () => {
    await post(5);
    const before = await summary();

    // Five of the thousand places are taken, yet only a few alerts of this size fit.
    expect(before.total).toBe(5);
    expect(before.room).toBeLessThan((STORE_MAX_BYTES - 5 * OUTPUT_CHARS) / OUTPUT_CHARS);
    await post(before.room);
    expect((await summary()).total).toBe(5 + before.room);

    // Past what the bytes allow the store does evict, though by count it has room for hundreds more.
    await post(10);
    expect((await summary()).total).toBeLessThan(5 + before.room + 10);
  });

  it('says no room once the store is full by bytes and every alert it holds is counted', async () => {
    await post(10);

    expect((await summary()).room).toBe(0);
  });
});
