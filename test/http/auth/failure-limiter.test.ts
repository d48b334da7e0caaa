import { describe, expect, it } from 'vitest';
import { createFailureLimiter } from '../../../src/http/auth/failure-limiter.js';

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
});
