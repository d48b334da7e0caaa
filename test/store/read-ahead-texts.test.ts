import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viewHeldAlert } from '../../src/alerts/held-alert.js';
import { isAfter } from '../../src/alerts/store-position.js';
import { streamPosition } from '../../src/store/redis-alert-entry.js';
import { createStreamScanner, type SendCommands } from '../../src/store/redis-alert-scan.js';
import { skipUnreadableEntries } from '../../src/store/skip-unreadable-entries.js';
import { addEntries, entryFields } from '../helpers/redis-entries.js';
import { connectTo, redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';

const hasRedis = redisAvailable();

// The characters of the field names and values of the entries of one XRANGE reply.
const replyChars = (reply: unknown) =>
  (reply as Array<[string, string[]]>)
    .flatMap(([, fields]) => fields)
    .reduce((sum, text) => sum + text.length, 0);

describe.skipIf(!hasRedis)("a scan's read-ahead of texts", () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  // Regression: the read-ahead skipped an entry whose `bytes` is not a count and read the texts
  // past it. When the scan reached that entry, its own read read the next texts ahead, past those
  // read ahead before and not reached yet: past a run, with 150 such entries between unreadable
  // texts of 100 KB, a scan bounded at 500 KB held 11 MB of texts read ahead (one entry before).
  it('holds no more texts read ahead than its bound, past entries whose bytes is not a count', async () => {
    const prefix = 'ahead-held';
    const large = entryFields('large', 'R', '100000', 'y'.repeat(100_000));
    const uncounted = entryFields('uncounted', 'R', 'many', 'not json');
    // Oldest first: 150 pairs of a text of 100 KB and one whose bytes is not a count, neither of
    // them JSON, each with its fields entry; then, newer, 560 entries not JSON.
    await redis.cli(
      'EVAL',
      "for i = 1, 150 do local sid = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 1, 22)) " +
        "redis.call('XADD', KEYS[2], sid, unpack(ARGV, 1, 20)) " +
        "sid = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 23, 44)) " +
        "redis.call('XADD', KEYS[2], sid, unpack(ARGV, 23, 42)) end",
      '2',
      `${prefix}:alerts`,
      `${prefix}:alert-fields`,
      ...large,
      ...uncounted,
    );
    await addEntries(redis, prefix, 560, entryFields('not-an-alert', 'R', '1000', 'not json'));
    const connection = connectTo(redis);
    await connection.tried();
    // The texts read ahead that the scan has not reached yet (newest first, it has reached the
    // oldest entry a read asks for), by stream id: their characters, and the most held at once.
    const ahead = new Map<string, number>();
    let most = 0;
    const send: SendCommands = async (commands) => {
      const replies = await Promise.all(commands.map((args) => connection.send(args)));
      commands.forEach((args, at) => {
        if (args[0] === 'XREVRANGE') ahead.clear();
        const script = args[0] === 'EVAL' && args[2] === '1';
        if (args[0] !== 'XRANGE' && !script) return;
        const ids = script ? args.slice(6) : [args[2]!];
        const asked = script ? Number(args[5]) : 1;
        const reached = ids.slice(0, asked).map(streamPosition);
        const oldest = reached.reduce((a, b) => (isAfter(a, b) ? b : a));
        for (const id of [...ahead.keys()]) if (!isAfter(oldest, streamPosition(id))) ahead.delete(id);
        if (script) {
          const read = (replies[at] as unknown[]).slice(asked);
          read.forEach((reply, i) => ahead.set(ids[asked + i]!, replyChars(reply)));
        }
        most = Math.max(
          most,
          [...ahead.values()].reduce((sum, chars) => sum + chars, 0),
        );
      });
      return replies;
    };
    const scanBack = createStreamScanner({
      keys: { alerts: `${prefix}:alerts`, fields: `${prefix}:alert-fields` },
      send,
      maxEntries: 3_000,
      unreadable: skipUnreadableEntries({ unreadableEntry: () => undefined }, pino({ level: 'silent' })),
    });
    const readAhead = 500_000;

    const { found } = await scanBack({
      op: 'query',
      end: '+',
      start: '-',
      filter: { rule: 'R' },
      view: viewHeldAlert,
      limit: 1,
      maxBytes: { hard: 1e9, reader: 8 * 1024 * 1024, readAhead },
      texts: 'kept',
    });
    await connection.close();

    expect(found).toEqual([]);
    expect(most).toBeLessThanOrEqual(readAhead);
  });
});
