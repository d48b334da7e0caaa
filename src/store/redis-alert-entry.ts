import type { HeldAlert } from '../alerts/held-alert.js';
import { toJson } from '../alerts/serialize-alert.js';
import type { StorePosition } from '../alerts/store-position.js';
import { fieldsFromAlert, type StoredAlert } from '../alerts/stored-alert.js';
import { capTags, capText, standsForLonger } from './capped-text.js';
import { namespaceInJson, tagsInJson, type EntryFields } from './entry-fields.js';
import { LUA_NOW_MS } from './redis-lua.js';
import { parseStoredJson, readStoredAlertText } from './stored-json.js';

/** The keys of one receiver's data in Redis, under STORE_KEY_PREFIX. */
export interface RedisKeys {
  /** The stream of alerts, in the order Redis wrote them. */
  alerts: string;
  /**
   * The same entries without their text (`json`), under the same ids: what filters and the
   * dashboard's counts read, so they never pull the texts of alerts they leave out.
   */
  fields: string;
  /** Hash: alert id → stream entry id, trimmed with the stream. */
  ids: string;
  /** Prefix of the dedup keys (one per alert identity, expiring after DEDUP_WINDOW_MS). */
  dedup: string;
  /**
   * Prefix of the alias keys: the id another replica gave a re-send that was not stored → the id of
   * the alert that was, so the id that replica answered with resolves. They expire with the dedup
   * window (one per dropped re-send: STORE_RETENTION would let a flood of re-sends grow Redis).
   */
  alias: string;
  /** Prefix of the trigger keys. */
  triggers: string;
  /**
   * A key each write link sets before its first `WAIT` through Sentinel, so that the `WAIT` covers
   * what the master held when the link came up (replica-confirmations.ts).
   */
  linkMark: string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    alerts: `${prefix}:alerts`,
    fields: `${prefix}:alert-fields`,
    ids: `${prefix}:alert-ids`,
    dedup: `${prefix}:dedup:`,
    alias: `${prefix}:alias:`,
    triggers: `${prefix}:triggers:`,
    linkMark: `${prefix}:link-mark`,
  };
}

// Field order of a stream entry; the write script copies them in this order after the id.
// `ns` and `tags` (a JSON array) feed the namespace and tag filters without parsing `json`. The
// texts are capped (capped-text.ts): an entry's fields are small whatever the alert holds. An alert
// written again after a failover has `was` too, before `json` (its text stays the last field).
const FIELDS = ['id', 'at', 't', 'src', 'rule', 'pri', 'host', 'ns', 'tags', 'bytes', 'json'] as const;
const TEXT_AT = FIELDS.length - 1;
// The XADD arguments of an alert's fields but its text, from the script's ARGV at `i`.
const TEXTLESS_FIELDS = FIELDS.slice(0, TEXT_AT)
  .map((field, at) => `'${field}', ARGV[i + ${at}]`)
  .join(', ');
/**
 * How many script arguments one alert takes: its fields, its dedup key, and the stream id it had
 * on a master that lost it ('' for a first write; buildWriteBatchArgs adds it).
 */
export const ARGS_PER_ALERT = FIELDS.length + 2;

/** The script arguments of one alert: its fields (the exact received JSON text) and dedup key. */
export function encodeAlertArgs(entry: StoredAlert, dedupKey: string): string[] {
  return [
    entry.id,
    String(entry.receivedAtMs),
    String(entry.timeMs),
    capText(entry.source),
    capText(entry.rule),
    entry.priority,
    capText(entry.hostname ?? ''),
    capText(entry.namespace ?? ''),
    capTags(entry.tags),
    String(entry.bytes),
    entry.json ?? toJson(entry.alert),
    dedupKey,
  ];
}

/**
 * An entry read with its JSON as the alert held: the texts it capped are read from the JSON. Throws
 * a SyntaxError when its tags are not JSON or its text is not an alert ingest accepts
 * (readStoredAlertText): every read that answers with stored texts holds them here first.
 */
export function holdEntry(fields: EntryFields): { streamId: string; held: HeldAlert } {
  const { streamId, tagsText, json: stored, ...rest } = fields;
  const { text: json, alert } = readStoredAlertText(stored);
  const inJson = tagsInJson(tagsText);
  const held: HeldAlert = {
    ...rest,
    receivedAt: new Date(fields.receivedAtMs).toISOString(),
    tags: tagsText && !inJson ? parseStoredJson<string[]>(tagsText) : undefined,
    json,
  };
  const { rule, source, hostname, namespace } = held;
  const capped = [rule, source, hostname ?? '', namespace ?? ''].some(standsForLonger);
  const namespaceUnknown = namespaceInJson(held);
  if (!capped && !inJson && !namespaceUnknown) return { streamId, held };
  const own = fieldsFromAlert(alert);
  return {
    streamId,
    held: {
      ...held,
      rule: standsForLonger(rule) ? own.rule : rule,
      source: standsForLonger(source) ? own.source : source,
      hostname: standsForLonger(hostname ?? '') ? own.hostname : hostname,
      namespace: namespaceUnknown || standsForLonger(namespace ?? '') ? own.namespace : namespace,
      tags: inJson ? own.tags : held.tags,
    },
  };
}

/** A stream entry id (`ms-seq`) as the position of its alert in the stream's order. */
export function streamPosition(streamId: string): StorePosition {
  const dash = streamId.indexOf('-');
  return [Number(streamId.slice(0, dash)), Number(streamId.slice(dash + 1))];
}

/**
 * Writes a batch of alerts atomically, in order. An alert id already written (a retry after a
 * timeout whose first try did land) is skipped, so a retry never duplicates; an alert whose dedup
 * key another replica set inside the window is dropped and returned, its id kept as an alias of the
 * stored one's. Each alert goes to the fields stream as well, without its text. Then trims by count
 * and by age, dropping the id index and the fields of every trimmed entry, so both are exactly as
 * long as the stream. Redis at maxmemory (noeviction) refuses a script's first write and takes
 * every later one (it cannot stop a script halfway): refused so, the script first sheds the oldest
 * alerts, at least the batch's bytes and a tenth of the stream, so the newest are written and
 * Redis is back under its bound for the other keys. Returns the ids dropped as duplicates, how
 * many alerts were shed, and the stream id of each alert of the batch ('' for a duplicate).
 * KEYS: stream, ids, fields. ARGV: maxAlerts, retentionMs, dedupWindowMs, dedupPrefix, aliasPrefix,
 * then the alerts.
 */
export const WRITE_SCRIPT = `
local stream, ids, fieldsStream = KEYS[1], KEYS[2], KEYS[3]
local maxlen, retention, window, dedupPrefix = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local aliasPrefix = ARGV[5]
local dups, shed = {}, 0
local batchBytes = 0
for i = 6, #ARGV, ${ARGS_PER_ALERT} do batchBytes = batchBytes + #ARGV[i + ${TEXT_AT}] end
-- The oldest alerts, until their texts (each entry's last field) add up to \`bytes\` and they are a
-- tenth of the stream; how many.
local function shedOldest(bytes)
  local count, freed, least = 0, 0, math.ceil(redis.call('XLEN', stream) / 10)
  while freed < bytes or count < least do
    local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 100)
    if #oldest == 0 then break end
    for _, e in ipairs(oldest) do
      redis.call('HDEL', ids, e[2][2])
      redis.call('XDEL', stream, e[1])
      freed, count = freed + #e[2][#e[2]], count + 1
      if freed >= bytes and count >= least then break end
    end
  end
  return count
end
local wrote = false
-- The script's first write, tried; refused for memory, it is sent again after shedding.
local function write(...)
  if wrote then return redis.call(...) end
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then
    if string.sub(reply.err, 1, 3) ~= 'OOM' then error(reply) end
    shed = shedOldest(batchBytes)
    if shed == 0 then error(reply) end
    reply = redis.call(...)
  end
  wrote = true
  return reply
end
local sids = {}
for i = 6, #ARGV, ${ARGS_PER_ALERT} do
  local id = ARGV[i]
  local known = redis.call('HGET', ids, id)
  sids[#sids + 1] = known or ''
  if not known then
    local fresh = true
    local dedupKey = dedupPrefix .. ARGV[i + ${FIELDS.length}]
    if window > 0 and ARGV[i + ${FIELDS.length}] ~= '' then
      fresh = write('SET', dedupKey, id, 'NX', 'PX', window)
    end
    if fresh then
      local entry = {${TEXTLESS_FIELDS}}
      -- Written again after the master that held it lost it: the stream id it had there.
      local was = ARGV[i + ${FIELDS.length + 1}]
      if was ~= '' then
        table.insert(entry, 'was')
        table.insert(entry, was)
      end
      table.insert(entry, 'json')
      table.insert(entry, ARGV[i + ${TEXT_AT}])
      local sid = write('XADD', stream, '*', unpack(entry))
      redis.call('HSET', ids, id, sid)
      sids[#sids] = sid
      -- A failure (the fields stream edited by hand) leaves the two of different lengths: reads
      -- then take the texts from the stream, as before there was a fields stream.
      redis.pcall('XADD', fieldsStream, sid, unpack(entry, 1, #entry - 2))
    else
      local original = redis.call('GET', dedupKey)
      if original then redis.call('SET', aliasPrefix .. id, original, 'PX', window) end
      dups[#dups + 1] = id
    end
  end
end
${LUA_NOW_MS}
local cutoff = nowMs - retention
local excess = redis.call('XLEN', stream) - maxlen
local first
while true do
  local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', math.min(math.max(excess, 0) + 1, 1000))
  local stop = #oldest == 0
  for _, e in ipairs(oldest) do
    if excess <= 0 and tonumber(string.match(e[1], '^(%d+)')) >= cutoff then first = e[1] stop = true break end
    redis.call('HDEL', ids, e[2][2])
    redis.call('XDEL', stream, e[1])
    excess = excess - 1
  end
  if stop then break end
end
-- The fields of the trimmed entries (and of any that a version without fields trimmed) go too.
if first then redis.call('XTRIM', fieldsStream, 'MINID', first) else redis.call('DEL', fieldsStream) end
return {dups, shed, sids}
`;
