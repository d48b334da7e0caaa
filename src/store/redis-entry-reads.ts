import type { HeldAlert } from '../alerts/held-alert.js';
import { decodeEntryFields, type EntryFields } from './entry-fields.js';
import { holdEntry, type RedisKeys } from './redis-alert-entry.js';
import type { UnreadableEntries } from './skip-unreadable-entries.js';
import type { StoreOp } from './store-metrics.js';

/** Sends commands at once (pipelined), timed together as one `op`; resolves with their replies. */
export type SendCommands = (commands: string[][], op: StoreOp) => Promise<unknown[]>;

// 1 when the fields stream holds an entry for every alert and no other. The stream holds every id
// it was given between its oldest and newest (trims take the oldest); the fields stream gets ids
// from it only, and the write that adds its newest trims it to the stream's oldest. So the same
// newest id and length are the same entries. A length alone is not: a version without the fields
// stream adds an alert and trims the oldest, and the fields, one newer alert short and one trimmed
// alert long, are as long as the stream.
const FIELDS_WHOLE_SCRIPT = `
local function newest(key)
  local entry = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  return entry and entry[1] or ''
end
local same = redis.call('XLEN', KEYS[1]) == redis.call('XLEN', KEYS[2]) and newest(KEYS[1]) == newest(KEYS[2])
return same and 1 or 0
`;

// An entry a scan keeps, and the alert it holds once read with its JSON.
export interface Kept {
  fields: EntryFields;
  held?: HeldAlert;
}

/**
 * The reads a scan makes besides its pages: whether the fields stream is whole, and the entries it
 * keeps read again with their JSON.
 */
export function createEntryReads(
  keys: Pick<RedisKeys, 'alerts' | 'fields'>,
  send: SendCommands,
  unreadable: UnreadableEntries,
) {
  // An entry read with its JSON, as held; undefined when its texts are not readable (skipped).
  const hold = (fields: EntryFields): Kept | undefined =>
    unreadable.decode(fields.streamId, () => ({ fields, held: holdEntry(fields).held }), undefined);

  // Whether every alert has its fields entry. They differ while alerts written by a version
  // without the fields stream are held (they age out), or after one could not be written.
  async function fieldsComplete(op: StoreOp): Promise<boolean> {
    const [whole] = await send([['EVAL', FIELDS_WHOLE_SCRIPT, '2', keys.alerts, keys.fields]], op);
    return whole === 1;
  }

  // The entries of these ids with their JSON; one trimmed meanwhile is left out.
  async function readWhole(streamIds: string[], op: StoreOp): Promise<Kept[]> {
    if (streamIds.length === 0) return [];
    const replies = await send(
      streamIds.map((streamId) => ['XRANGE', keys.alerts, streamId, streamId]),
      op,
    );
    return replies.flatMap((reply) =>
      (reply as unknown[]).flatMap((raw) => hold(decodeEntryFields(raw)) ?? []),
    );
  }

  // The kept alerts as held: those read from the fields stream are read again, with their JSON.
  async function withTexts(kept: Kept[], op: StoreOp): Promise<Kept[]> {
    // Those read with their JSON are held here, and left out when it is not readable.
    kept = kept.flatMap((entry) =>
      entry.held || entry.fields.json === undefined ? [entry] : (hold(entry.fields) ?? []),
    );
    const unread = kept.filter((entry) => !entry.held).map((entry) => entry.fields.streamId);
    if (unread.length === 0) return kept;
    const byId = new Map((await readWhole(unread, op)).map((entry) => [entry.fields.streamId, entry]));
    return kept.flatMap((entry) => (entry.held ? [entry] : (byId.get(entry.fields.streamId) ?? [])));
  }

  return { fieldsComplete, hold, readWhole, withTexts };
}
