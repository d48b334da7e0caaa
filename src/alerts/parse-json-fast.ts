import { BACKSLASH, COLON, QUOTE } from './json-chars.js';
import type { JsonValue } from './parse-json.js';

/** Deepest nesting accepted (Falco's own bodies nest 3 deep); deeper documents are junk. */
export const MAX_JSON_DEPTH = 32;
// 2^53 has 16 digits: a shorter integer literal is always exact as a JS number.
const MIN_UNSAFE_DIGITS = 16;
// Called, not loaded from each string: the service sees strings of several kinds, and a
// megamorphic `text.charCodeAt` load cost a lookup per character (two thirds of the scan).
const charCodeAt = String.prototype.charCodeAt;
const indexOf = String.prototype.indexOf;

interface TextFacts {
  /** Colons outside strings: exactly one per object key written in the text. */
  keys: number;
  /** Integer literals long enough to be unsafe, by the number they parse to; null = ambiguous. */
  bigIntegers: Map<number, string | null>;
  /** A long number literal that is not a plain integer (e.g. 1.0e20): let the strict parser decide. */
  unusual: boolean;
}

function isNumberChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || code === 45 || code === 43 || code === 46 || code === 101 || code === 69
  );
}

/** Where the string that opens at `open` in JSON text closes: its quote, past escaped ones; -1 if none. */
export function closingQuote(text: string, open: number): number {
  let close = open;
  for (;;) {
    close = indexOf.call(text, '"', close + 1);
    if (close === -1) return -1;
    let slashes = 0;
    while (charCodeAt.call(text, close - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return close;
  }
}

// Only called on text JSON.parse accepted, so every string is closed. One loop over the structural
// text: colons are counted, long number literals noted, and strings jumped over (indexOf to their
// closing quote, past escaped ones). A function per segment between strings cost a third more.
function scanText(text: string): TextFacts {
  const facts: TextFacts = { keys: 0, bigIntegers: new Map(), unusual: false };
  const length = text.length;
  let i = 0;
  while (i < length) {
    const code = charCodeAt.call(text, i);
    if (code === QUOTE) {
      const close = closingQuote(text, i);
      // Cannot happen after JSON.parse; if it did, the strict parser decides (never a loop).
      if (close === -1) {
        facts.unusual = true;
        return facts;
      }
      i = close + 1;
    } else if (code === COLON) {
      facts.keys++;
      i++;
    } else if ((code >= 48 && code <= 57) || code === 45) {
      let end = i + 1;
      // A plain integer: every character after the first (a digit or '-') is a digit. Checked
      // here rather than by a regex on the literal, which cost a call per long number.
      let plain = true;
      while (end < length) {
        const next = charCodeAt.call(text, end);
        if (!isNumberChar(next)) break;
        if (next < 48 || next > 57) plain = false;
        end++;
      }
      if (end - i >= MIN_UNSAFE_DIGITS) {
        const literal = text.slice(i, end);
        if (!plain) facts.unusual = true;
        const value = Number(literal);
        const known = facts.bigIntegers.get(value);
        facts.bigIntegers.set(value, known === undefined || known === literal ? literal : null);
      }
      i = end;
    } else i++;
  }
  return facts;
}

/** Object keys written in valid JSON text (one colon outside strings per key). */
export function countTextKeys(text: string): number {
  return scanText(text).keys;
}

function hasEnumerableKey(object: object): boolean {
  // The first key answers.
  for (const _key in object) return true;
  return false;
}

interface WalkState {
  keys: number;
  facts: TextFacts;
  ok: boolean;
}

// Counts keys and swaps unsafe integers for the exact bigint of their literal; ok=false = no proof.
function walk(value: unknown, depth: number, state: WalkState): unknown {
  if (typeof value === 'number') {
    // Fractions are as the strict parser gives them; unsafe integers need their literal.
    if (Number.isSafeInteger(value) || (Number.isFinite(value) && !Number.isInteger(value))) return value;
    // Out of range (a literal of 309 digits or more): the strict parser refuses it, and says why.
    if (!Number.isFinite(value)) {
      state.ok = false;
      return value;
    }
    const literal = state.facts.bigIntegers.get(value);
    if (typeof literal !== 'string') state.ok = false;
    return typeof literal === 'string' ? BigInt(literal) : value;
  }
  if (value === null || typeof value !== 'object') return value;
  // As the strict parser counts: the root is at depth 0, and MAX_JSON_DEPTH objects or arrays nest.
  if (depth >= MAX_JSON_DEPTH) {
    state.ok = false;
    return value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && state.ok; i++) {
      const item: unknown = value[i];
      const walked = walk(item, depth + 1, state);
      if (walked !== item) value[i] = walked;
    }
    return value;
  }
  const record = value as Record<string, unknown>;
  // for-in, not Object.keys: no key array per object, and V8 reads `record[key]` through the
  // enumeration cache instead of a generic keyed lookup. JSON.parse makes plain objects whose own
  // keys (even "__proto__") are data properties, and parseJsonFast checked that Object.prototype
  // has no enumerable key, so for-in sees exactly the own keys.
  for (const key in record) {
    state.keys++;
    const item = record[key];
    // Only unsafe integers change: the one write back is their bigint.
    if (typeof item === 'number' || (item !== null && typeof item === 'object')) {
      const walked = walk(item, depth + 1, state);
      if (walked !== item) record[key] = walked;
    }
    if (!state.ok) break;
  }
  return value;
}

/**
 * Parses with native JSON.parse when a cheap scan proves the result equals the strict parser's:
 * no duplicate keys (keys in the text = keys in the result), every unsafe integer matched to its
 * exact literal, shallow nesting. `duplicateKey` when the text has more keys than the result (a
 * repeated key, even with the same value). Returns undefined when nothing can be proven; the
 * caller then runs the strict parser, which also writes every error message.
 */
export function parseJsonFast(text: string): { value: JsonValue } | { duplicateKey: true } | undefined {
  // A polluted Object.prototype would add its keys to every for-in of the walk: leave it to the strict parser.
  if (hasEnumerableKey(Object.prototype)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const facts = scanText(text);
  if (facts.unusual) return undefined;
  const state: WalkState = { keys: 0, facts, ok: true };
  const value = walk(parsed, 0, state);
  if (!state.ok) return undefined;
  if (state.keys !== facts.keys) return { duplicateKey: true };
  return { value: value as JsonValue };
}
