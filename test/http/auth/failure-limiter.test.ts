import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { createFailureLimiter } from '../../../src/http/auth/failure-limiter.js';
import { heapUsedAfterGc } from '../../helpers/heap.js';

describe('createFailureLimiter', () => {
  it('makes an address wait after `limit` failures until its window ends', () => {
    let now = 1_000;
    const limiter = createFailureLimiter({ limit: 3, windowMs: 60_000, maxClients: 10, now: () => now });

    for (let i = 0; i < 3; i += 1) {
      expect(limiter.retryAfterMs('a')).toBe(0);
      limiter.recordFailure('a');
    }

    expect(limiter.retryAfterMs('a')).toBe(60_000);
    expect(limiter.retryAfterMs('b')).toBe(0);
    now += 59_000;
    expect(limiter.retryAfterMs('a')).toBe(1_000);
    now += 1_000;
    expect(limiter.retryAfterMs('a')).toBe(0);
  });

  it('keeps at most maxClients addresses when a client sprays 100 000 of them', () => {
    let now = 0;
    const limiter = createFailureLimiter({ limit: 2, windowMs: 60_000, maxClients: 1_000, now: () => now });
    limiter.recordFailure('victim-probe');
    limiter.recordFailure('victim-probe');

    for (let i = 0; i < 100_000; i += 1) {
      now += 1;
      limiter.recordFailure(`198.51.${i >> 8}.${i & 255}#${i}`);
    }

    expect(limiter.size()).toBe(1_000);
    // The oldest window went first.
    expect(limiter.retryAfterMs('victim-probe')).toBe(0);
  });

  it('keeps an address whose window restarted while the table turned over', () => {
    let now = 0;
    const limiter = createFailureLimiter({ limit: 2, windowMs: 1_000, maxClients: 100, now: () => now });
    limiter.recordFailure('kept');
    for (let i = 0; i < 150; i += 1) limiter.recordFailure(`first-${i}`);
    now = 1_000;
    // Its window over, its next failure starts a new one: the newest entry, not the oldest.
    limiter.recordFailure('kept');
    limiter.recordFailure('kept');
    for (let i = 0; i < 99; i += 1) limiter.recordFailure(`second-${i}`);

    expect(limiter.size()).toBe(100);
    expect(limiter.retryAfterMs('kept')).toBe(1_000);
  });

  // Guards the cost of a failure from a new address at a full table: the oldest window was found
  // by a new iterator each time, which walks past every entry deleted since the Map last compacted
  // (V8 compacts when it runs out of room): 13-16 us a failure at 65,537 to 100,000 addresses.
  it('forgets the oldest address as cheaply as it adds one while the table fills', () => {
    // Just past 2^16: V8's table then has room for 65,535 deleted entries before it compacts.
    const maxClients = 65_537;
    const keys = Array.from({ length: 2 * maxClients }, (_, i) => `2001:db8::${i.toString(16)}`);
    const micros = (from: number, limiter: ReturnType<typeof createFailureLimiter>) => {
      const started = performance.now();
      for (let i = from; i < from + maxClients; i += 1) limiter.recordFailure(keys[i]!);
      return ((performance.now() - started) * 1000) / maxClients;
    };
    const filling: number[] = [];
    const evicting: number[] = [];
    // The best of three of each, taken in turns, so a busy machine slows both alike.
    for (let round = 0; round < 3; round += 1) {
      const limiter = createFailureLimiter({ limit: 10, windowMs: 60_000, maxClients, now: () => 0 });
      filling.push(micros(0, limiter));
      evicting.push(micros(maxClients, limiter));
      expect(limiter.size()).toBe(maxClients);
    }

    // 0.7 to 2.2 here; the new iterator per failure made it 20 to 35.
    expect(Math.min(...evicting) / Math.min(...filling)).toBeLessThan(6);
  });

  // Guards the iterator kept from one eviction to the next: one not moved holds every table V8 has
  // since replaced the Map's with (each keeps its entries, so the iterator can find its place), and
  // below a full table nothing moved it: 1,000 clients whose windows kept ending grew the heap by
  // about 115 bytes a restarted window, without bound (23 MB for these 200,000).
  it('holds no more memory while windows end and restart below a full table', () => {
    let now = 0;
    const limiter = createFailureLimiter({ limit: 10, windowMs: 1_000, maxClients: 10_000, now: () => now });
    const addresses = Array.from({ length: 1_000 }, (_, i) => `192.0.2.${i & 255}#${i}`);
    for (const address of addresses) limiter.recordFailure(address);
    const before = heapUsedAfterGc();

    for (let round = 0; round < 200; round += 1) {
      now += 1_000;
      // Each window over: the failure forgets it and starts a new one, at the end of the table.
      for (const address of addresses) limiter.recordFailure(address);
    }

    expect(limiter.size()).toBe(1_000);
    expect(heapUsedAfterGc() - before).toBeLessThan(4 * 1024 * 1024);
  });
});
