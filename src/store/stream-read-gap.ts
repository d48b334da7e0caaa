import { isAfter, type StorePosition } from '../alerts/store-position.js';

/**
 * The most entries STREAM_EDGES_SCRIPT counts to tell a stream made again (once per link up); also
 * how many entries the live reader remembers publishing, and walks back over to find them in a
 * stream that changed under it (unread-kept-entries.ts).
 */
export const LINEAGE_COUNT_MAX = 10_000;

/**
 * The stream's edges: `[removed, first, added, generated, after]`, the newest entry id Redis removed
 * from it (`max-deleted-entry-id`, Redis 7; nil before), its oldest entry's id (nil when empty), how
 * many entries were ever added to it (`entries-added`, Redis 7; nil before), its newest id ever
 * (`last-generated-id`) and, given ARGV (an earlier answer's `generated` and `added`), how many of its
 * entries are after that `generated`, as far as it tells whether the stream was made again (more
 * than were added since means it was, whatever it took since): 0 when the entry `generated` is
 * still in the stream (the same stream) or it is empty; its length when its oldest entry is after
 * `generated` (trimmed past it, or made again); one more than were added since when older entries
 * are kept and `generated` is neither there nor deleted (`max-deleted-entry-id` before it: this
 * stream never held it); else (it alone deleted, XDEL) counted up to one more than were added since
 * (at most LINEAGE_COUNT_MAX, read 100 at a time). Counted only then: Redis does nothing else while
 * the script runs, and an entry counted is read, alert text and all (10,000 entries of 20 KB:
 * 290 ms of a blocked Redis, at each reader's first read after a reconnect). XTRIM leaves
 * `max-deleted-entry-id` as it was (Redis 7.0); the write script removes with XDEL. An empty reply
 * when the stream is absent. Small whatever the alerts' sizes: XINFO's first and last entries stay
 * in Redis. KEYS: stream. ARGV: none, or generated and added.
 */
export const STREAM_EDGES_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local removed, first, added, generated, after, length = false, false, false, false, false, 0
for i = 1, #info, 2 do
  if info[i] == 'length' then length = info[i + 1] end
  if info[i] == 'max-deleted-entry-id' then removed = info[i + 1] end
  if info[i] == 'first-entry' and info[i + 1] then first = info[i + 1][1] end
  if info[i] == 'entries-added' then added = info[i + 1] end
  if info[i] == 'last-generated-id' then generated = info[i + 1] end
end
-- Whether stream id a is before b ('ms-seq').
local function before(a, b)
  local am, as = string.match(a, '^(%d+)%-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)%-(%d+)$')
  if not am or not bm then return false end
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
if ARGV[1] and added then
  local since = added - tonumber(ARGV[2])
  if since < 0 then
    -- Fewer added than before: the reader tells that itself.
  elseif not first or #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 1 then
    -- Empty, or the read before's newest entry is still there (the same stream: a stream made
    -- again takes ids from its Redis's clock, past that id's millisecond once it restarted): none
    -- after it that were not added since.
    after = 0
  elseif before(ARGV[1], first) then
    -- Every entry is after it (it was trimmed, or the stream made again): all of them.
    after = length
  elseif not (removed and not before(removed, ARGV[1])) then
    -- Entries before it kept, it neither there nor deleted (max-deleted-entry-id before it): this
    -- stream never held it, so it was made again.
    after = since + 1
  elseif since < ${LINEAGE_COUNT_MAX} then
    after = 0
    local from = '(' .. ARGV[1]
    while after <= since do
      local chunk = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', math.min(100, since + 1 - after))
      if #chunk == 0 then break end
      after = after + #chunk
      from = '(' .. chunk[#chunk][1]
    end
  end
end
return {removed, first, added, generated, after}
`;

/** The stream's edges as STREAM_EDGES_SCRIPT answered them (each undefined when unknown or absent). */
export function streamEdges(reply: unknown): {
  removed?: string;
  first?: string;
  added?: number;
  generated?: string;
  after?: number;
} {
  const [removed, first, added, generated, after] = Array.isArray(reply) ? (reply as unknown[]) : [];
  return {
    removed: typeof removed === 'string' ? removed : undefined,
    first: typeof first === 'string' ? first : undefined,
    added: typeof added === 'number' ? added : undefined,
    generated: typeof generated === 'string' ? generated : undefined,
    after: typeof after === 'number' ? after : undefined,
  };
}

/**
 * Whether a read of the entries after `last` may have missed some, and up to where; undefined when
 * it surely did not. `first` is the oldest entry the read returned, `removed` the newest entry id
 * removed from the stream, asked right after the read. The write script removes entries oldest
 * first (trimmed by count or age, shed at maxmemory), so one removed after `last` was never read:
 * - `removed` not after `last`: nothing after `last` was removed, no gap;
 * - `removed` between `last` and `first` (or the read returned nothing): a gap, up to `removed`;
 * - `removed` at or after `first`: the read's own entries were trimmed right after it, and whether
 *   some between `last` and `first` went before it is unknown: a gap is assumed, up to `first`
 *   (only a reader at the trim's edge, that missed alerts or nearly did, sees this).
 */
export function findReadGap(
  last: StorePosition,
  first: StorePosition | undefined,
  removed: StorePosition | undefined,
): StorePosition | undefined {
  if (!removed || !isAfter(removed, last)) return undefined;
  return first && !isAfter(first, removed) ? first : removed;
}
