import { describe, expect, it } from 'vitest';
import { createDeliveredEntries } from '../../src/store/delivered-entries.js';
import { createPageSizer } from '../../src/store/page-size.js';
import { readUnreadKeptEntries } from '../../src/store/unread-kept-entries.js';
import { redisAvailable, useRedisConnection } from '../helpers/redis-server.js';

const hasRedis = redisAvailable();

describe.skipIf(!hasRedis)('readUnreadKeptEntries', () => {
  const { connection } = useRedisConnection();

  // Entries `1-0` .. `count-0` holding alerts `alert-1` .., in both streams of `prefix`.
  async function stream(prefix: string, count: number) {
    const keys = { alerts: `${prefix}:alerts`, fields: `${prefix}:alert-fields` };
    for (let n = 1; n <= count; n++) {
      await connection().send(['XADD', keys.alerts, `${n}-0`, 'id', `alert-${n}`, 'json', '{}']);
      await connection().send(['XADD', keys.fields, `${n}-0`, 'id', `alert-${n}`]);
    }
    return keys;
  }

  async function unreadOf(keys: { alerts: string; fields: string }, published: number[], lastId: string) {
    const delivered = createDeliveredEntries(100);
    for (const n of published) delivered.add(`${n}-0`, `alert-${n}`);
    const unread: string[] = [];
    const kept = await readUnreadKeptEntries({
      send: (args) => connection().send(args),
      keys,
      lastId,
      delivered,
      maxWalk: 150,
      pageSize: createPageSizer(),
      unread: (raw) => unread.push((raw as [string])[0]),
    });
    return { kept, unread };
  }

  it('gives the entries up to lastId after the newest one published, oldest first', async () => {
    const keys = await stream('kept', 6);
    // 1 to 3 replicated before the promotion and published; 4 and 5 the new master's own, written
    // while the reader read the old master's own up to where it stopped, 5-0.
    const { kept, unread } = await unreadOf(keys, [1, 2, 3], '5-0');
    expect(kept).toBe('3-0');
    expect(unread).toEqual(['4-0', '5-0']);
  });

  it('takes an entry of the same id holding another alert for one never published', async () => {
    const keys = await stream('same-id', 3);
    const delivered = createDeliveredEntries(100);
    delivered.add('1-0', 'alert-1');
    // The old master gave 3-0 to an alert of its own.
    delivered.add('3-0', 'an-alert-of-the-old-master');
    const unread: string[] = [];
    await readUnreadKeptEntries({
      send: (args) => connection().send(args),
      keys,
      lastId: '3-0',
      delivered,
      maxWalk: 150,
      pageSize: createPageSizer(),
      unread: (raw) => unread.push((raw as [string])[0]),
    });
    expect(unread).toEqual(['2-0', '3-0']);
  });

  it('answers none, giving none, when the stream holds none it published', async () => {
    const keys = await stream('none', 4);
    expect(await unreadOf(keys, [], '4-0')).toEqual({ kept: undefined, unread: [] });
  });

  // Regression: the entries it had not published were read 100 to a reply whatever their size: 100
  // alerts of BODY_LIMIT_BYTES (1.75 MiB) were one reply of 175 MiB, in Redis's output buffer and
  // this process's heap at once, where the live reader's own reads keep to about 4 MiB.
  it('reads the texts of the entries it gives in pages of the size the live reader reads', async () => {
    const keys = { alerts: 'large:alerts', fields: 'large:alert-fields' };
    const text = JSON.stringify({ output: 'x'.repeat(1_000_000) });
    for (let n = 1; n <= 12; n++) {
      await connection().send(['XADD', keys.alerts, `${n}-0`, 'id', `alert-${n}`, 'json', text]);
      await connection().send(['XADD', keys.fields, `${n}-0`, 'id', `alert-${n}`]);
    }
    const delivered = createDeliveredEntries(100);
    delivered.add('1-0', 'alert-1');
    // The live reader's, after reads of alerts of this size.
    const pageSize = createPageSizer();
    pageSize.saw([text.length]);
    const replies: number[] = [];
    const unread: string[] = [];
    await readUnreadKeptEntries({
      send: async (args) => {
        const reply = await connection().send(args);
        if (args[0] === 'XRANGE') replies.push(JSON.stringify(reply).length);
        return reply;
      },
      keys,
      lastId: '12-0',
      delivered,
      maxWalk: 150,
      pageSize,
      unread: (raw) => unread.push((raw as [string])[0]),
    });
    expect(unread).toHaveLength(11);
    expect(Math.max(...replies)).toBeLessThan(4.5 * 1024 * 1024);
  });

  it('walks back no further than maxWalk entries', async () => {
    const keys = await stream('far', 300);
    expect(await unreadOf(keys, [1], '300-0')).toEqual({ kept: undefined, unread: [] });
    expect((await unreadOf(keys, [200], '300-0')).unread).toHaveLength(100);
  });
});
