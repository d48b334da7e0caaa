import { randomUUID } from 'node:crypto';
import type { TriggerKind, TriggerRun } from '../triggers/trigger-run.js';
import type { SharedRuns } from '../triggers/shared-runs.js';
import type { RedisConnection } from './redis-connection.js';

// Claims a slot of a kind across replicas: a sorted set of run ids scored by their lease's end,
// so a replica that dies mid-run frees its slot when the lease ends.
const CLAIM_SCRIPT = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], nowMs + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`;

/**
 * Trigger runs shared through Redis: each run's JSON under its own key with a TTL, an index of
 * recent runs (newest first, trimmed to `maxRuns`), per-kind slots and the canary lease.
 */
export function createRedisTriggerRuns(options: {
  connection: RedisConnection;
  /** Key prefix, ending in `:`. */
  prefix: string;
  maxRuns: number;
  ttlMs: number;
}): SharedRuns {
  const { connection: conn, prefix } = options;
  const owner = randomUUID();
  const runKey = (id: string) => `${prefix}run:${id}`;
  const index = `${prefix}runs`;
  return {
    async claim(kind: TriggerKind, runId, max, leaseMs) {
      const args = [String(max), String(leaseMs), runId];
      return (await conn.send(['EVAL', CLAIM_SCRIPT, '1', `${prefix}active:${kind}`, ...args])) === 1;
    },
    async release(kind, runId) {
      await conn.send(['ZREM', `${prefix}active:${kind}`, runId]);
    },
    async save(run: TriggerRun) {
      const ttl = String(options.ttlMs);
      await Promise.all([
        conn.send(['SET', runKey(run.id), JSON.stringify(run), 'PX', ttl]),
        conn.send(['ZADD', index, String(Date.parse(run.createdAt)), run.id]),
        conn.send(['ZREMRANGEBYRANK', index, '0', String(-options.maxRuns - 1)]),
        conn.send(['PEXPIRE', index, ttl]),
      ]);
    },
    async get(id) {
      const json = await conn.send(['GET', runKey(id)]);
      return typeof json === 'string' ? (JSON.parse(json) as TriggerRun) : undefined;
    },
    async list() {
      const ids = (await conn.send(['ZRANGE', index, '+inf', '-inf', 'BYSCORE', 'REV'])) as string[];
      if (ids.length === 0) return [];
      const found = (await conn.send(['MGET', ...ids.map(runKey)])) as Array<string | null>;
      return found
        .filter((json): json is string => json !== null)
        .map((json) => JSON.parse(json) as TriggerRun);
    },
    async leaseCanary(ms) {
      return (await conn.send(['SET', `${prefix}canary-lease`, owner, 'NX', 'PX', String(ms)])) === 'OK';
    },
  };
}
