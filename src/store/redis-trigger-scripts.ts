import { LUA_NOW_MS } from './redis-lua.js';

// The Lua scripts of the shared trigger runs (redis-trigger-runs.ts): each one step of a run's
// life across replicas, atomic in Redis.

// Holds a run's slot of a kind across replicas: a sorted set of run ids scored by their lease's
// end, so a replica that dies mid-run frees its slot when the lease ends; the set itself lives as
// long as its longest lease. ARGV: max, leaseMs, runId. A claim (max >= 0) is refused when `max`
// runs hold slots; a renewal (max -1) of a run still going always holds it, taking it again if it
// is missing (the run started while Redis was unreachable, or its lease ran out in an outage): the
// run is alive, and must not read as orphaned. A renewal also reads the run's cancel request
// (KEYS[2]): its time, or '' when there is none.
export const SLOT_SCRIPT = `
${LUA_NOW_MS}
local max, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs)
if max >= 0 and redis.call('ZCARD', KEYS[1]) >= max then return 0 end
redis.call('ZADD', KEYS[1], nowMs + lease, ARGV[3])
if redis.call('PTTL', KEYS[1]) < lease then redis.call('PEXPIRE', KEYS[1], lease) end
if KEYS[2] then return redis.call('GET', KEYS[2]) or '' end
return 1
`;

// For each run id: 1 while the run holds an unexpired slot (KEYS[i], its kind's slot set) or its
// replica's hold (KEYS[n + i]), else 0.
export const HELD_SCRIPT = `
${LUA_NOW_MS}
local n, held = #ARGV, {}
for i = 1, n do
  local score = redis.call('ZSCORE', KEYS[i], ARGV[i])
  local slot = score and tonumber(score) > nowMs
  held[i] = (slot or redis.call('EXISTS', KEYS[n + i]) == 1) and 1 or 0
end
return held
`;

// The canary lease and a run's hold: taken when free, renewed by the replica that holds it (never
// shortened: a renewal sent as the run's settled save went through keeps the hold for its life),
// refused to the others.
export const LEASE_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1
`;

// Saves as failed a run orphaned before its trigger ended, once across replicas: only while it and
// its cancel request are as read (unfinished: ARGV[1]; the request ARGV[6], '' for none: one stored
// meanwhile is settled cancelled at the next sweep), and neither its slot (KEYS[3]) nor a hold
// (KEYS[4]) is live. KEYS: the run, the unsettled index, its kind's slots, its hold, its cancel
// request; ARGV: the run's JSON as read, its failed JSON, its id, this replica, ttlMs, the request
// as read. The run and its hold, this replica's, then last the retention from now, so its own
// replica, should it reach Redis again before it gives the run up (a retention after its last
// hold: run-holds.ts), finds the run taken over. With ARGV[7] '1' the run left something to remove
// (its release, its pod): marked so in the same step (KEYS[6], the leftovers index), or a replica
// dying between the two would leave it unmarked and never removed. Marked first: Redis keeps the
// writes a script made before one it refuses (a key of another type), and a run saved settled but
// refused its mark was counted and cleaned up by no replica; refused first, nothing is written.
export const SETTLE_SCRIPT = `
${LUA_NOW_MS}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if (redis.call('GET', KEYS[5]) or '') ~= ARGV[6] then return 0 end
local slot = redis.call('ZSCORE', KEYS[3], ARGV[3])
if (slot and tonumber(slot) > nowMs) or redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if ARGV[7] == '1' then
  redis.call('ZADD', KEYS[6], nowMs, ARGV[3])
  redis.call('PEXPIRE', KEYS[6], ARGV[5])
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('SET', KEYS[4], ARGV[4], 'PX', ARGV[5])
return 1
`;

// Takes (or renews) the removal of a settled orphan's leftovers for this replica: only while they
// are still marked (KEYS[1], the leftovers index: a replica that removed them unmarked them) and
// no other replica holds their removal (KEYS[2]). ARGV: runId, this replica, leaseMs.
export const TAKE_LEFTOVERS_SCRIPT = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
`;

// Records that an orphan's leftovers were dealt with, once: the run saved with its cleanup step,
// unmarked and its removal's lease given back, unless another replica holds their removal (this
// one's lapsed meanwhile) or it is unmarked already. The run is then held by this replica for its
// life, as the replica that saves a run settled holds it (SAVE_SCRIPT). KEYS: removal lease, run,
// leftovers index, hold. ARGV: this replica, the run's JSON, ttlMs, runId.
export const LEFTOVERS_REMOVED_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
if not redis.call('ZSCORE', KEYS[3], ARGV[4]) then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[4])
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[3])
return 1
`;

// Saves a run's state unless another replica holds it (took it over while this one could not
// renew its hold): back from an outage, the replica that lost the run must not replace the state,
// maybe the verdict, the new holder saved. A settled run is held by its saver for the run's life,
// as a settled orphan is (nobody renews a hold once the run is settled: lapsed, it let the replica
// that lost the run save over it). KEYS: hold, run, index, unsettled. ARGV: owner, json, ttlMs,
// score (created at), runId, maxRuns, settled (1 or 0).
export const SAVE_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[6]) - 1)
redis.call('PEXPIRE', KEYS[3], ARGV[3])
if ARGV[7] == '1' then
  redis.call('ZREM', KEYS[4], ARGV[5])
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
else
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
end
redis.call('PEXPIRE', KEYS[4], ARGV[3])
return 1
`;
