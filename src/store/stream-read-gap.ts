import { isAfter, type StorePosition } from '../alerts/store-position.js';

/**
 * The stream's edges: `[removed, first, added, generated, after]`, the newest entry id Redis removed
 * from it (`max-deleted-entry-id`, Redis 7; nil before), its oldest entry's id (nil when empty), how
 * many entries were ever added to it (`entries-added`, Redis 7; nil before), its newest id ever
 * (`last-generated-id`) and, given ARGV (an earlier answer's `generated` and `added`), how many of its
 * entries are after that `generated`, counted up to one more than were added since (at most
 * LINEAGE_COUNT_MAX, read 100 at a time: an alert's text may be megabytes): more than were added
 * since means the stream was made again, whatever it took since. An empty reply when the stream is absent. Small whatever the alerts' sizes: XINFO's first
 * and last entries stay in Redis. KEYS: stream. ARGV: none, or generated and added.
 */
/** The most entries STREAM_EDGES_SCRIPT counts to tell a stream made again (once per link up). */
export const LINEAGE_COUNT_MAX = 10_000;

export const STREAM_EDGES_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local removed, first, added, generated, after = false, false, false, false, false
for i = 1, #info, 2 do
  if info[i] == 'max-deleted-entry-id' then removed = info[i + 1] end
  if info[i] == 'first-entry' and info[i + 1] then first = info[i + 1][1] end
  if info[i] == 'entries-added' then added = info[i + 1] end
  if info[i] == 'last-generated-id' then generated = info[i + 1] end
end
if ARGV[1] and added then
  local since = added - tonumber(ARGV[2])
  if since >= 0 and since < ${LINEAGE_COUNT_MAX} then
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
