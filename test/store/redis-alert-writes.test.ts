import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisKeys } from '../../src/store/redis-alert-entry.js';
import { createRedisAlertWrites } from '../../src/store/redis-alert-writes.js';
import type { RedisConnection } from '../../src/store/redis-connection.js';
import { createStoreMetrics } from '../../src/store/store-metrics.js';
import { connectTo, redisAvailable, startRedis, untilUp, type TestRedis } from '../helpers/redis-server.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { metricValue } from '../helpers/test-app.js';

const hasRedis = redisAvailable();

// Through Sentinel with no replica online (a single-node setup): every written alert stays kept,
// up to STORE_PENDING_MAX, to be written again once the link comes back. A plain Redis answers
// ROLE and WAIT as that master does.
describe.skipIf(!hasRedis)('writes kept unconfirmed when the link comes back', () => {
  let redis: TestRedis;
  let writer: RedisConnection | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await writer?.close();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function keptWrites(prefix: string, maxAlerts = 1000) {
    writer = connectTo(redis, `writer-${prefix}`);
    await untilUp(writer);
    const registry = new Registry();
    const metrics = createStoreMetrics(registry, { isUp: () => true, pending: () => 0 });
    const options = {
      writer,
      keys: redisKeys(prefix),
      metrics,
      logger: pino({ level: 'silent' }),
      pendingMax: 100,
      maxBytes: 1e9,
      confirmReplicated: true,
      maxAlerts,
      retentionMs: 3_600_000,
      dedupWindowMs: 0,
      retainedFromMs: async () => Date.now() - 3_600_000,
    };
    const writes = createRedisAlertWrites(options);
    // A full set kept: written, and confirmed by no replica.
    const stored = Array.from({ length: 100 }, () => makeStoredAlert());
    for (const entry of stored) writes.add(entry);
    await writes.flush();
    // The alert ids in each write script call from now on.
    const sent = vi.spyOn(writer, 'send');
    const idsSent = () =>
      sent.mock.calls
        .filter(([args]) => args[0] === 'EVAL' && args[3] === `${prefix}:alerts`)
        .flatMap(([args]) => stored.filter((entry) => args.includes(entry.id)).map((entry) => entry.id));
    // The link drops (a client kill) with new alerts queued, and comes back to the same master.
    const relink = async () => {
      await redis.cli('CLIENT', 'KILL', 'TYPE', 'normal');
      const fresh = Array.from({ length: 10 }, () => makeStoredAlert());
      for (const entry of fresh) writes.add(entry);
      await writes.flush();
      return fresh;
    };
    return { writes, registry, stored, idsSent, relink, options };
  }

  // Regression: a client kill during a load past 10,000 alerts counted 6,631 in
  // falco_store_pending_dropped_total and logged them dropped: the kept alerts, all stored, were
  // queued again in front of the new ones and the queue's bound dropped them.
  it('writes none of them again to a master that holds them, and counts no drop', async () => {
    const { registry, idsSent, relink } = await keptWrites('blip');

    await relink();

    expect(idsSent()).toEqual([]);
    expect(await metricValue(registry, 'falco_store_pending_dropped_total')).toBe(0);
    expect(await redis.cli('HLEN', 'blip:alert-ids')).toBe('110');
  });

  it('writes again those the master lacks (a promoted replica without the last writes), and only those', async () => {
    const { registry, stored, idsSent, relink } = await keptWrites('lost');
    // The newest five gone, as from a replica promoted before it had them: its streams never held
    // them (XDEL would mark them removed, as a trim does, and removed ones are not written again).
    const lost = stored.slice(-5).map((entry) => entry.id);
    const streamIds = await Promise.all(lost.map((id) => redis.cli('HGET', 'lost:alert-ids', id)));
    for (const key of ['lost:alerts', 'lost:alert-fields']) {
      const entries = (await writer!.send(['XRANGE', key, '-', '+'])) as Array<[string, string[]]>;
      await writer!.send(['DEL', key]);
      for (const [id, fields] of entries)
        if (!streamIds.includes(id)) await writer!.send(['XADD', key, id, ...fields]);
    }
    await redis.cli('HDEL', 'lost:alert-ids', ...lost);

    await relink();

    expect(idsSent()).toEqual(lost);
    expect(await metricValue(registry, 'falco_store_pending_dropped_total')).toBe(0);
    expect(await redis.cli('HLEN', 'lost:alert-ids')).toBe('110');
  });

  // With XINFO refused by an ACL (the live reader then logs store_read_gap_unknown) the stream's
  // oldest entry decides, as before Redis 7 (regression, review: every trimmed alert came back).
  it.each([
    { acl: '', what: 'XINFO allowed' },
    { acl: '-xinfo', what: 'XINFO refused by an ACL' },
  ])(
    'writes none again that the master removed from its stream (trimmed), though it lacks them ($what)',
    async ({ acl }) => {
      const prefix = `trimmed${acl}`;
      const { registry, stored, idsSent, relink, options } = await keptWrites(prefix, 100);
      // Another receiver's five alerts trim the oldest five, as STORE_MAX_ALERTS does (its write script
      // removes them with XDEL: max-deleted-entry-id names the newest of them).
      const other = connectTo(redis, 'other-receiver');
      await untilUp(other);
      const theirs = createRedisAlertWrites({ ...options, writer: other, confirmReplicated: false });
      for (let i = 0; i < 5; i++) theirs.add(makeStoredAlert());
      await theirs.flush();
      await other.close();
      const trimmed = stored.slice(0, 5).map((entry) => entry.id);
      expect(await redis.cli('HMGET', `${prefix}:alert-ids`, ...trimmed)).toBe('\n\n\n\n');
      if (acl) await redis.cli('ACL', 'SETUSER', 'default', acl);

      try {
        await relink();
      } finally {
        await redis.cli('ACL', 'SETUSER', 'default', '+@all');
      }

      expect(idsSent()).toEqual([]);
      expect(await metricValue(registry, 'falco_store_pending_dropped_total')).toBe(0);
      expect(await redis.cli('HLEN', `${prefix}:alert-ids`)).toBe('100');
    },
  );
});
