import { describe, expect, it } from 'vitest';
import { STREAM_EDGES_SCRIPT, streamEdges } from '../../src/store/stream-read-gap.js';
import { redisAvailable, useRedisConnection } from '../helpers/redis-server.js';

const hasRedis = redisAvailable();

// The lineage check runs in one script (Redis does nothing else meanwhile), at every reader's first
// read after each link up: counting the entries added while the link was down read each of them,
// alert text and all (10,000 entries of 20 KB: 290 ms of a blocked Redis, per reader).
describe.skipIf(!hasRedis)('STREAM_EDGES_SCRIPT', () => {
  const { redis, connection } = useRedisConnection();
  const body = 'y'.repeat(2_000);

  async function xrangeCalls(): Promise<number> {
    const stats = await redis().cli('INFO', 'commandstats');
    return Number(/cmdstat_xrange:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  }

  async function edges(stream: string, lineage: string[] = []) {
    return streamEdges(await connection().send(['EVAL', STREAM_EDGES_SCRIPT, '1', stream, ...lineage]));
  }

  // A stream made again within the millisecond of the old one's last id may take that very id (its
  // first XADD * is ms-0, ms-1, ...); a Redis restarted takes longer than that.
  const pastTheMillisecond = () => new Promise((resolve) => setTimeout(resolve, 5));

  async function add(stream: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) await connection().send(['XADD', stream, '*', 'a', body]);
  }

  it('does not read what was added since to tell a stream that kept its entry of the read before', async () => {
    await add('kept', 3);
    const before = await edges('kept');
    await add('kept', 1_000);
    const calls = await xrangeCalls();
    const after = await edges('kept', [before.generated!, String(before.added)]);
    expect(after.added! - before.added!).toBe(1_000);
    // Not made again: at most as many after it as were added since.
    expect(after.after).toBeLessThanOrEqual(1_000);
    // Before: 10 XRANGE calls of 100 entries each (the whole 2 MB read inside the script).
    expect((await xrangeCalls()) - calls).toBeLessThanOrEqual(1);
  });

  it('tells a stream made again without reading it', async () => {
    await add('remade', 3);
    const before = await edges('remade');
    await connection().send(['DEL', 'remade']);
    await pastTheMillisecond();
    await add('remade', 1_000);
    const calls = await xrangeCalls();
    const after = await edges('remade', [before.generated!, String(before.added)]);
    expect(after.after).toBeGreaterThan(after.added! - before.added!);
    expect((await xrangeCalls()) - calls).toBeLessThanOrEqual(1);
  });

  it('still counts when the entry of the read before was trimmed since (a stream kept)', async () => {
    await add('trimmed', 3);
    const before = await edges('trimmed');
    await add('trimmed', 10);
    await connection().send(['XTRIM', 'trimmed', 'MAXLEN', '5']);
    const after = await edges('trimmed', [before.generated!, String(before.added)]);
    expect(after.after).toBeLessThanOrEqual(after.added! - before.added!);
  });

  it('tells a stream made again whose new entries were trimmed past the entry of the read before', async () => {
    await add('remade-trimmed', 3);
    const before = await edges('remade-trimmed');
    await connection().send(['DEL', 'remade-trimmed']);
    await pastTheMillisecond();
    await add('remade-trimmed', 5);
    await connection().send(['XTRIM', 'remade-trimmed', 'MAXLEN', '4']);
    const after = await edges('remade-trimmed', [before.generated!, String(before.added)]);
    expect(after.after).toBeGreaterThan(after.added! - before.added!);
  });
});
