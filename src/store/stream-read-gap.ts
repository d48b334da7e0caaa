import { isAfter, type StorePosition } from '../alerts/store-position.js';

/**
 * The newest entry id Redis removed from the stream (`max-deleted-entry-id`, Redis 7), or false
 * when the stream is absent. Small whatever the alerts' sizes: XINFO's first and last entries stay
 * in Redis. KEYS: stream.
 */
export const MAX_DELETED_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
  if info[i] == 'max-deleted-entry-id' then return info[i + 1] end
end
return false
`;

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
