import { createHash } from 'node:crypto';
import { startOf } from '../alerts/cut-text.js';

/**
 * The longest rule, source, hostname or namespace (UTF-16 units), and tag list (as JSON), a stream
 * entry holds as it is. Past it the JSON holds the value: every scan reads the fields of every
 * alert it passes over, and 720 rules of 100 KB made each list or count read 72 MB.
 */
export const FIELD_CAP = 1024;

// SHA-256 in base64url, after a NUL: what stands for the value past FIELD_CAP.
const DIGEST_CHARS = 43;
const MARK = '\u0000';

const isCapped = (stored: string) =>
  stored.length > FIELD_CAP && stored[stored.length - DIGEST_CHARS - 1] === MARK;

/**
 * `text` as a stream entry holds it: as it is up to FIELD_CAP, else its start (startOf), a NUL and the
 * SHA-256 of the whole. Two texts are equal exactly when their capped forms are, so filters compare those.
 */
export function capText(text: string): string {
  if (text.length <= FIELD_CAP) return text;
  // The start copied, not a slice: V8 keeps a sliced string's whole parent alive, and a capped form
  // held (a memory store's ruleKey, shared by a run of alerts; a queued write's fields) held the
  // whole text with it, after the alert that brought it was evicted too.
  const start = (MARK + startOf(text, FIELD_CAP)).slice(1);
  return start + MARK + createHash('sha256').update(text).digest('base64url');
}

/** A text read from an entry, or a whole one, capped: an entry an earlier version wrote holds it whole. */
export const readCappedText = (stored: string): string => (isCapped(stored) ? stored : capText(stored));

/** True when the capped form stands for a longer text, which is in the alert's JSON. */
export const standsForLonger = (capped: string): boolean => capped.length > FIELD_CAP;

/** The start of the text a capped form stands for, as far as it holds it. */
export const cappedStart = (capped: string): string =>
  standsForLonger(capped) ? capped.slice(0, capped.length - DIGEST_CHARS - 1) : capped;

/**
 * A filter's text as stored texts are compared with: capped. One that is not well-formed UTF-16
 * (a lone surrogate) equals no stored text (Redis holds U+FFFD for it), so it stays as it is.
 */
export const capQueryText = (text: string): string => (text.isWellFormed() ? capText(text) : text);

/** What an entry holds for tags too long to keep: the tag filter reads them from the JSON. */
export const TAGS_IN_JSON = MARK;

/** The tags as an entry holds them: '' for none, their JSON up to FIELD_CAP, else TAGS_IN_JSON. */
export function capTags(tags: readonly string[] | undefined): string {
  if (tags === undefined) return '';
  const json = JSON.stringify(tags);
  return json.length <= FIELD_CAP ? json : TAGS_IN_JSON;
}
