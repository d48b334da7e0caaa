import { describe, expect, it } from 'vitest';
import { createRedisClock } from '../../src/store/redis-clock.js';
import type { RedisConnection } from '../../src/store/redis-connection.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable-error.js';

const hour = 3_600_000;

// A link to a Redis whose clock runs `aheadMs` ahead of this process's; `fail` makes its next
// TIMEs fail with that error; `relink` is the link coming back (to the same node or another).
function fakeLink() {
  const link = { aheadMs: 2 * hour, fail: undefined as Error | undefined, times: 0 };
  const upListeners: Array<() => void> = [];
  const conn: RedisConnection = {
    send(args) {
      if (args[0] !== 'TIME') throw new Error(`unexpected ${args[0]}`);
      link.times += 1;
      if (link.fail) return Promise.reject(link.fail);
      const ms = Date.now() + link.aheadMs;
      return Promise.resolve([String(Math.floor(ms / 1000)), String((ms % 1000) * 1000)]);
    },
    isUp: () => true,
    tried: async () => {},
    onUp: (listener) => void upListeners.push(listener),
    close: async () => {},
  };
  return { link, conn, relink: () => upListeners.forEach((listener) => listener()) };
}

// How far the clock's answer is from this process's clock.
const offsetOf = async (clock: ReturnType<typeof createRedisClock>) => (await clock.nowMs()) - Date.now();

describe("Redis's clock for STORE_RETENTION's edge", () => {
  it("is Redis's, asked once for reads at once and not again within 10 s", async () => {
    const { link, conn } = fakeLink();
    const clock = createRedisClock(conn);

    const offsets = await Promise.all([offsetOf(clock), offsetOf(clock), offsetOf(clock)]);
    await offsetOf(clock);

    for (const offset of offsets) expect(Math.abs(offset - 2 * hour)).toBeLessThan(1_000);
    expect(link.times).toBe(1);
  });

  // Regression: a TIME that failed (the link down at the first read, Redis loading or hung) counted
  // as asked for 10 s: once Redis answered again, the reads of those 10 s kept alerts from this
  // process's clock, and a replica whose node ran two hours ahead (1h retention) listed nothing.
  it('asks again at the next read after a TIME Redis could not answer', async () => {
    const { link, conn } = fakeLink();
    const clock = createRedisClock(conn);
    link.fail = new StoreUnavailableError();
    expect(Math.abs(await offsetOf(clock))).toBeLessThan(1_000);

    link.fail = undefined;

    expect(Math.abs((await offsetOf(clock)) - 2 * hour)).toBeLessThan(1_000);
  });

  // Regression: after a failover the promoted node's clock (maybe hours off the old master's) was
  // asked only 10 s after the last TIME: the reads meanwhile kept alerts from the old one's.
  it('asks again once its link comes back, maybe to a node with another clock', async () => {
    const { link, conn, relink } = fakeLink();
    const clock = createRedisClock(conn);
    await offsetOf(clock);

    link.aheadMs = -2 * hour;
    relink();

    expect(Math.abs((await offsetOf(clock)) + 2 * hour)).toBeLessThan(1_000);
  });

  // Guard: a TIME refused (an ACL without it) is not asked again at every read, doubling its round
  // trips: the last answer (or this process's clock) stands in until 10 s have passed.
  it('asks a refused TIME again only 10 s later', async () => {
    const { link, conn } = fakeLink();
    const clock = createRedisClock(conn);
    link.fail = new Error("NOPERM User falco has no permissions to run the 'time' command");
    await offsetOf(clock);
    await offsetOf(clock);

    expect(link.times).toBe(1);
  });
});
