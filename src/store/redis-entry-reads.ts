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

// The XRANGE replies of the first ARGV[2] ids of ARGV[3...], then of the others (a read-ahead's) while
// the lengths of their field names and values add up to ARGV[1] at most: measured here, not taken
// from their `bytes`, which another writer may have written far below the text's size. Those past it
// are not sent (the scan reads them when it reaches them).
const READ_AHEAD_SCRIPT = `
local left = tonumber(ARGV[1])
local asked = tonumber(ARGV[2])
local replies = {}
for at = 3, #ARGV do
  local reply = redis.call('XRANGE', KEYS[1], ARGV[at], ARGV[at])
  if at - 2 > asked then
    for _, entry in ipairs(reply) do
      for _, text in ipairs(entry[2]) do left = left - #text end
    end
    if left < 0 then break end
  end
  replies[at - 2] = reply
end
return replies
`;

// An entry a scan keeps, and the alert it holds once read with its JSON.
export interface Kept {
  fields: EntryFields;
  held?: HeldAlert;
}

/**
 * Texts read with those a read asks for, ahead of the reads that take them (a scan's, past a run of
 * unreadable entries): `more` names them when a read goes to Redis, `replies` keeps each one's
 * reply (by stream id) until a read takes it. Held only when taken: an entry read ahead that the
 * scan never reaches is neither parsed nor counted as unreadable.
 */
export interface ReadAhead {
  replies: Map<string, unknown>;
  more: () => string[];
  /** The most bytes of their texts Redis sends, as it measures them. */
  maxBytes: number;
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

  // The XRANGE replies of `streamIds` and, with texts to read ahead, of the first of `more`: those
  // READ_AHEAD_SCRIPT sends, about `maxBytes` at most, whatever their `bytes` say.
  async function readEntries(
    streamIds: string[],
    more: string[],
    maxBytes: number,
    op: StoreOp,
  ): Promise<unknown[]> {
    if (more.length === 0) {
      return send(
        streamIds.map((streamId) => ['XRANGE', keys.alerts, streamId, streamId]),
        op,
      );
    }
    const script = ['EVAL', READ_AHEAD_SCRIPT, '1', keys.alerts, String(maxBytes), String(streamIds.length)];
    const [replies] = await send([[...script, ...streamIds, ...more]], op);
    return replies as unknown[];
  }

  // The entries of these ids with their JSON; one trimmed meanwhile is left out. Those read ahead
  // are taken from `ahead`; the others are read in one round trip, with `ahead`'s more (those of
  // them the reply holds: the others are read when asked for).
  async function readWhole(streamIds: string[], op: StoreOp, ahead?: ReadAhead): Promise<Kept[]> {
    const replies = ahead?.replies ?? new Map<string, unknown>();
    const unread = streamIds.filter((streamId) => !replies.has(streamId));
    if (unread.length > 0) {
      const more = ahead?.more() ?? [];
      const asked = [...unread, ...more];
      // Without a read-ahead, `more` is empty: nothing for a bound to bound.
      const read = await readEntries(unread, more, ahead?.maxBytes ?? 0, op);
      read.forEach((reply, at) => replies.set(asked[at]!, reply));
    }
    const whole = streamIds.flatMap((streamId) =>
      (replies.get(streamId) as unknown[]).flatMap((raw) => hold(decodeEntryFields(raw)) ?? []),
    );
    for (const streamId of streamIds) replies.delete(streamId);
    return whole;
  }

  // The kept alerts as held: those read from the fields stream are read again, with their JSON.
  async function withTexts(kept: Kept[], op: StoreOp, ahead?: ReadAhead): Promise<Kept[]> {
    // Those read with their JSON are held here, and left out when it is not readable.
    kept = kept.flatMap((entry) =>
      entry.held || entry.fields.json === undefined ? [entry] : (hold(entry.fields) ?? []),
    );
    const unread = kept.filter((entry) => !entry.held).map((entry) => entry.fields.streamId);
    if (unread.length === 0) return kept;
    const byId = new Map((await readWhole(unread, op, ahead)).map((entry) => [entry.fields.streamId, entry]));
    return kept.flatMap((entry) => (entry.held ? [entry] : (byId.get(entry.fields.streamId) ?? [])));
  }

  return { fieldsComplete, hold, readWhole, withTexts };
}
