import { afterEach, describe, expect, it } from 'vitest';
import { promotedFrom, readReplicationIds } from '../../src/store/replication-ids.js';
import {
  redisAvailable,
  replicaSynced,
  startReplicatedPair,
  type TestRedis,
} from '../helpers/redis-server.js';
import { until } from '../helpers/until.js';

const hasRedis = redisAvailable();
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const ZEROS = '0'.repeat(40);

describe('readReplicationIds', () => {
  it('reads both ids of an INFO replication reply', () => {
    const info = `# Replication\r\nrole:master\r\nmaster_replid:${B}\r\nmaster_replid2:${A}\r\nsecond_repl_offset:15\r\n`;
    expect(readReplicationIds(info)).toEqual({ replid: B, replid2: A });
  });

  it('reads nothing from a reply without them (a refusal, another section)', () => {
    expect(readReplicationIds(undefined)).toBeUndefined();
    expect(readReplicationIds('# Server\r\nredis_version:7.0.15\r\n')).toBeUndefined();
  });
});

describe('promotedFrom', () => {
  it('is true only for a master whose previous history is the one before', () => {
    expect(promotedFrom({ replid: A, replid2: ZEROS }, { replid: B, replid2: A })).toBe(true);
    expect(promotedFrom({ replid: A, replid2: ZEROS }, { replid: A, replid2: ZEROS })).toBe(false);
    expect(promotedFrom({ replid: A, replid2: ZEROS }, { replid: B, replid2: ZEROS })).toBe(false);
    expect(promotedFrom(undefined, { replid: B, replid2: A })).toBe(false);
  });
});

// What the live reader relies on to tell a failover (whose lost writes are written again) from a
// restart (whose lost writes are gone), as redis-server does it.
describe.skipIf(!hasRedis)('replication ids of a real Redis', () => {
  const servers: TestRedis[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
  });
  const idsOf = async (server: TestRedis) => readReplicationIds(await server.cli('INFO', 'replication'));

  it('tells a replica promoted from the master, and not the same master restarted', async () => {
    const { master, replica } = await startReplicatedPair();
    servers.push(master, replica);
    await until(() => replicaSynced(replica), 10_000, 'the replica syncing');
    const before = await idsOf(master);

    await replica.cli('REPLICAOF', 'NO', 'ONE');
    expect(promotedFrom(before, await idsOf(replica))).toBe(true);
    await master.kill();
    await master.restart();
    expect(promotedFrom(before, await idsOf(master))).toBe(false);
  });
});
