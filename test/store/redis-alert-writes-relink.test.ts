import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/store/redis-alert-entry.js';
import { createRedisAlertWrites } from '../../src/store/redis-alert-writes.js';
import type { RedisConnection } from '../../src/store/redis-connection.js';
import { createStoreMetrics } from '../../src/store/store-metrics.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A write link standing in for Redis through Sentinel: the master has no replica online (ROLE),
 * the script stores every alert, and `holdRole` keeps the next ROLE unanswered until released.
 */
function standInWriter() {
  const sent: string[][] = [];
  const upListeners: Array<() => void> = [];
  let held: Array<() => void> | undefined;
  const answer = (args: string[]): unknown => {
    if (args[0] === 'ROLE') return ['master', 0, []];
    if (args[0] === 'XRANGE') return [];
    // The id index holds none of them (a promoted replica without the old master's last writes).
    if (args[0] === 'HMGET') return args.slice(2).map(() => null);
    // The script's reply: no duplicates, none shed, a stream id for each alert of the batch.
    const ids = args.filter((arg) => arg.startsWith('id-'));
    return [[], 0, ids.map((_, i) => `${Date.now()}-${i}`)];
  };
  const writer: RedisConnection = {
    send(args) {
      sent.push(args);
      if (args[0] === 'ROLE' && held)
        return new Promise((resolve) => held!.push(() => resolve(answer(args))));
      return Promise.resolve(answer(args));
    },
    isUp: () => true,
    tried: async () => {},
    onUp: (listener) => void upListeners.push(listener),
    close: async () => {},
  };
  return {
    writer,
    // How many script calls carried this alert.
    writesOf: (id: string) => sent.filter((args) => args[0] === 'EVAL' && args.includes(id)).length,
    roles: () => sent.filter(([command]) => command === 'ROLE').length,
    holdRole: () => (held = []),
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const resolve of waiting) resolve();
    },
    relink: () => upListeners.forEach((listener) => listener()),
  };
}

describe('the store writes through Sentinel', () => {
  // Regression: a link that came back while a round was still waiting for its look at the master
  // (its flush found that round's flush running) left the alerts kept from before it until the
  // next alert came, however long that took: in no answer of the promoted master meanwhile.
  it('writes again the alerts kept from before a relink that came while a round was running', async () => {
    const stand = standInWriter();
    const writes = createRedisAlertWrites({
      writer: stand.writer,
      keys: redisKeys('x'),
      metrics: createStoreMetrics(new Registry(), { isUp: () => true, pending: () => 0 }),
      logger: pino({ level: 'silent' }),
      pendingMax: 100,
      maxBytes: 1e9,
      confirmReplicated: true,
      retainedFromMs: async () => 0,
      maxAlerts: 100,
      retentionMs: 3_600_000,
      dedupWindowMs: 0,
    });
    const alert = makeStoredAlert();
    stand.holdRole();
    writes.add(alert);
    for (let i = 0; i < 100 && stand.roles() === 0; i++) await sleep(5);

    stand.relink();
    await sleep(20);
    stand.release();
    for (let i = 0; i < 100 && stand.writesOf(alert.id) < 2; i++) await sleep(5);
    writes.close();

    expect(stand.writesOf(alert.id)).toBe(2);
  });
});
