import type { Priority } from '../alerts/priority.js';
import type { StoredAlert } from '../alerts/stored-alert.js';
import { FIELD_CAP, readCappedText, TAGS_IN_JSON } from './capped-text.js';

/**
 * What filters and counts read of a stream entry, its JSON aside: texts capped (capped-text.ts),
 * tags as their JSON. Decoded for every entry a scan passes over, so it is kept cheap: no date
 * text and no tag list (4 of the 6 us an entry took, 10,000 entries a scan).
 */
export interface EntryFields extends Pick<
  StoredAlert,
  'id' | 'receivedAtMs' | 'timeMs' | 'source' | 'rule' | 'priority' | 'hostname' | 'namespace' | 'bytes'
> {
  streamId: string;
  /** The tags' JSON ('' for none), or TAGS_IN_JSON: only the alert's JSON holds them. */
  tagsText: string;
  /** The alert's JSON, read from the alerts stream; undefined from the fields stream. */
  json?: string;
}

/** True when only the alert's JSON holds its tags (an earlier version kept long ones whole). */
export const tagsInJson = (tagsText: string): boolean =>
  tagsText === TAGS_IN_JSON || tagsText.length > FIELD_CAP;

/**
 * True when only the alert's JSON can tell an entry's namespace: a k8saudit alert written without
 * one. Versions before a130acb read the namespace from k8s.ns.name only and wrote a k8saudit
 * alert's (ka.target.namespace) as none; such entries stay in Redis for STORE_RETENTION after an
 * upgrade, and a replica of that version still writes them during a rolling update.
 */
export const namespaceInJson = (fields: Pick<EntryFields, 'namespace' | 'source'>): boolean =>
  fields.namespace === undefined && fields.source === 'k8s_audit';

// An entry's received bytes as reads count them. Another writer's (a hand edit, another version,
// anyone with access to Redis) that is not a count (not a number, negative, infinite) made a read's
// running total NaN, which passes every byte cap and the readers' budget, or cut the read at once,
// and the live reader asked Redis for `COUNT NaN` entries, refused for as long as the entry was held:
// it counts as its text (none from the fields stream, which has no text, until it is read).
function readBytes(stored: string, json: string | undefined): number {
  const bytes = Number(stored);
  if (stored !== '' && Number.isSafeInteger(bytes) && bytes >= 0) return bytes;
  return json === undefined ? 0 : Buffer.byteLength(json);
}

// The most milliseconds from the epoch a Date holds (ECMA-262): past it, toISOString throws.
const MAX_DATE_MS = 8.64e15;

// An entry's time in epoch milliseconds. Another writer's that is not one (not a number, none,
// past any date) made holdEntry's date text throw a RangeError, which no read skips: every list and
// replay that passed over the entry answered 500, and the live reader, refused at it every 200 ms,
// published nothing more and blamed Redis; as NaN, it passed every `since`. It is `fallback` then:
// the alert's text may well be fine, and a time close to the right one keeps it in the answers.
function readTimeMs(stored: string, fallback: number): number {
  const ms = Number(stored);
  return stored !== '' && Math.abs(ms) <= MAX_DATE_MS ? ms : fallback;
}

/** A stream entry (`[streamId, [field, value, ...]]`) as filters and counts read it. */
export function decodeEntryFields(raw: unknown): EntryFields {
  const [streamId, flat] = raw as [string, string[]];
  let id = '';
  let at = '';
  let time = '';
  let source = 'unknown';
  let rule = '';
  let priority = '';
  let hostname = '';
  let namespace = '';
  let tagsText = '';
  let bytes = '';
  let json: string | undefined;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const value = flat[i + 1]!;
    // prettier-ignore
    switch (flat[i]) {
      case 'id': id = value; break;
      case 'at': at = value; break;
      case 't': time = value; break;
      case 'src': source = value; break;
      case 'rule': rule = value; break;
      case 'pri': priority = value; break;
      case 'host': hostname = value; break;
      case 'ns': namespace = value; break;
      case 'tags': tagsText = value; break;
      case 'bytes': bytes = value; break;
      case 'json': json = value; break;
    }
  }
  // The write script adds the entry with an id Redis stamps (`ms-seq`) as it writes: its receipt
  // time within the write's delay. An alert time that is not one is its receipt time, as the sink has it.
  const receivedAtMs = readTimeMs(at, Number(streamId.slice(0, streamId.indexOf('-'))));
  return {
    streamId,
    id,
    receivedAtMs,
    timeMs: readTimeMs(time, receivedAtMs),
    source: readCappedText(source),
    rule: readCappedText(rule),
    priority: priority as Priority,
    hostname: hostname ? readCappedText(hostname) : undefined,
    namespace: namespace ? readCappedText(namespace) : undefined,
    bytes: readBytes(bytes, json),
    tagsText,
    json,
  };
}
