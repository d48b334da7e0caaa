import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COLON, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-chars.js';
import type { JsonValue } from './parse-json.js';

/** Deepest nesting accepted (Falco's own bodies nest 3 deep); deeper documents are junk. */
export const MAX_JSON_DEPTH = 32;
// 2^53 has 16 digits: a shorter integer literal is always exact as a JS number.
const MIN_UNSAFE_DIGITS = 16;
// Called, not loaded from each string: the service sees strings of several kinds, and a
// megamorphic `text.charCodeAt` load cost a lookup per character (two thirds of the scan).
const charCodeAt = String.prototype.charCodeAt;
const indexOf = String.prototype.indexOf;

// Distinct unsafe integer values noted per body (an alert has a handful: evt.time and the like).
// Past it the body takes the exact path: a Map keyed by attacker-chosen numbers, whose hash V8
// does not seed, must stay small (104,000 colliding values stalled the loop for 47 s). A lookup
// that misses walks a whole bucket too (up to its size): past MAX_MISS_WORK entries walked, the
// exact path as well.
const MAX_BIG_INTEGERS = 256;
// Misses times the map's size. By number of misses alone (256), a real alert, whose evt.time fills
// the map with one entry, went the exact path with 257 literals such as 1e20 (found by review):
// 0.3-0.8 s for a 1.8 MB body. A million steps is a few milliseconds.
const MAX_MISS_WORK = 1 << 20;

/** A plain integer literal noted for its unsafe value, and how many times it is written. */
interface PlainLiteral {
  readonly literal: string;
  /** Its occurrences the walk has yet to meet: the value met once more has another literal (1e20). */
  unmet: number;
}

interface TextFacts {
  /** Colons outside strings: exactly one per object key written in the text. */
  keys: number;
  /** Objects and arrays opened. */
  containers: number;
  /** Unsafe integers written as plain literals, by the number they parse to; null = two literals. */
  bigIntegers: Map<number, PlainLiteral | null>;
  /** Not provable here (an unclosed string, too many unsafe integers): let the exact parser decide. */
  unusual: boolean;
  /** Objects and arrays nest deeper than MAX_JSON_DEPTH (the scan stopped there). */
  tooDeep: boolean;
  /** Where keys or containers passed the caller's bound (the scan stopped there). */
  overBound?: number;
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

// One loop over the structural text: colons are counted, long number literals noted, nesting
// measured, and strings jumped over (indexOf to their closing quote, past escaped ones). A function
// per segment between strings cost a third more. It runs before JSON.parse, on any text: nesting too
// deep is refused here, before a parser spends hundreds of milliseconds on a megabyte of brackets.
function scanText(text: string, maxShape = Infinity): TextFacts {
  const facts: TextFacts = { keys: 0, containers: 0, bigIntegers: new Map(), unusual: false, tooDeep: false };
  const length = text.length;
  let depth = 0;
  let i = 0;
  while (i < length) {
    const code = charCodeAt.call(text, i);
    if (code === QUOTE) {
      const close = closingQuote(text, i);
      // Not JSON (JSON.parse refuses it too): the exact parser says why (never a loop).
      if (close === -1) {
        facts.unusual = true;
        return facts;
      }
      i = close + 1;
    } else if (code === COLON) {
      if (++facts.keys > maxShape) {
        facts.overBound = i;
        return facts;
      }
      i++;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      // As the parsers count: the root is at depth 0, and MAX_JSON_DEPTH objects or arrays nest.
      if (++depth > MAX_JSON_DEPTH) {
        facts.tooDeep = true;
        return facts;
      }
      if (++facts.containers > maxShape) {
        facts.overBound = i;
        return facts;
      }
      i++;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      depth--;
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
      // Only a plain integer literal with an unsafe value is read as a bigint, and a shorter one
      // never has one. Any other literal (1e20, 1.0e20) is read as the number it parses to.
      if (plain && end - i >= MIN_UNSAFE_DIGITS) notePlainInteger(facts, text.slice(i, end));
      i = end;
    } else i++;
  }
  return facts;
}

function notePlainInteger(facts: TextFacts, literal: string): void {
  const value = Number(literal);
  // Beyond a double (Infinity) the walk reads it as null.
  if (!Number.isFinite(value) || Number.isSafeInteger(value)) return;
  const known = facts.bigIntegers.get(value);
  if (known === undefined) {
    if (facts.bigIntegers.size >= MAX_BIG_INTEGERS) facts.unusual = true;
    else facts.bigIntegers.set(value, { literal, unmet: 1 });
  } else if (known !== null) {
    if (known.literal === literal) known.unmet++;
    else facts.bigIntegers.set(value, null);
  }
}

/**
 * `text` (valid JSON) with each number literal beyond a double's range (jsoncpp's 1e+9999 for an
 * infinite double, a 400-digit integer) written as null, as the parsers read it and as Falco 0.39+
 * writes the same value. Strict JSON readers refuse such a literal (Go's encoding/json, Rust's
 * serde_json, Elasticsearch's mappings): a log line holding one could be dropped whole.
 */
export function nullBeyondDoubleInText(text: string): string {
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < text.length) {
    const code = charCodeAt.call(text, i);
    if (code === QUOTE) {
      const close = closingQuote(text, i);
      if (close === -1) break;
      i = close + 1;
    } else if ((code >= 48 && code <= 57) || code === 45) {
      let end = i + 1;
      while (end < text.length && isNumberChar(charCodeAt.call(text, end))) end++;
      if (!Number.isFinite(Number(text.slice(i, end)))) {
        out += text.slice(copied, i) + 'null';
        copied = end;
      }
      i = end;
    } else i++;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * What one scan of JSON text finds outside its strings: the object keys written in it (one colon
 * per key, when the text is valid JSON) and whether objects and arrays nest deeper than
 * MAX_JSON_DEPTH (the scan stops there, so `keys` is then a part).
 */
export function textShape(text: string): Pick<TextFacts, 'keys' | 'tooDeep'> {
  return scanText(text);
}

function hasEnumerableKey(object: object): boolean {
  // The first key answers.
  for (const _key in object) return true;
  return false;
}

interface WalkState {
  keys: number;
  facts: TextFacts;
  /** Unsafe integers met that no plain literal was noted for, while some were. */
  misses: number;
  ok: boolean;
  /** A number beyond a double's range was read (as null). */
  beyondDouble: boolean;
}

// Counts keys and swaps unsafe integers for the exact bigint of their literal; ok=false = no proof.
function walk(value: unknown, state: WalkState): unknown {
  if (typeof value === 'number') {
    // Fractions are as the strict parser gives them; unsafe integers need their literal.
    if (Number.isSafeInteger(value) || (Number.isFinite(value) && !Number.isInteger(value))) return value;
    // JSON.parse gives an infinity only for a literal beyond a double's range (jsoncpp's 1e+9999
    // for an infinite double): null, as the strict parser reads it and Falco 0.39+ writes it.
    if (!Number.isFinite(value)) {
      state.beyondDouble = true;
      return null;
    }
    // Every plain literal of an unsafe integer is noted (it has 16 characters or more): a value
    // not noted has only other literals (1e20, 1.5e300), which the strict parser reads as numbers.
    const { bigIntegers } = state.facts;
    const noted = bigIntegers.size === 0 ? undefined : bigIntegers.get(value);
    if (noted === undefined) {
      if (bigIntegers.size > 0 && ++state.misses * bigIntegers.size > MAX_MISS_WORK) state.ok = false;
      return value;
    }
    // Two plain literals of one double, or the value met more often than its plain literal is
    // written (it also has another, 1e20 beside 100000000000000000000): which is which is unknown.
    if (noted === null || noted.unmet === 0) {
      state.ok = false;
      return value;
    }
    noted.unmet--;
    return BigInt(noted.literal);
  }
  // Nesting was measured by the scan before the parse: at most MAX_JSON_DEPTH levels here.
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && state.ok; i++) {
      const item: unknown = value[i];
      const walked = walk(item, state);
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
      const walked = walk(item, state);
      if (walked !== item) record[key] = walked;
    }
    if (!state.ok) break;
  }
  return value;
}

/**
 * Parses with native JSON.parse when a cheap scan proves the result equals the strict parser's:
 * no duplicate keys (keys in the text = keys in the result), every unsafe integer matched to its
 * plain literal or proven to have none (1e20: a number), shallow nesting. `duplicateKey` when the
 * text has more keys than the result (a repeated key, even with the same value); `tooDeep` when it
 * nests deeper than MAX_JSON_DEPTH and `overBound` (where) when it writes more than `maxShape` keys
 * or objects and arrays (both found before any parse); `syntaxError` with JSON.parse's message when
 * the text is not JSON. `beyondDouble` when a number beyond a double's range was read as null.
 * Returns undefined when the value cannot be proven (unsafe integers whose literals differ but share
 * a double, such as 100000000000000000000 and 1e20, too many of them, a polluted Object.prototype),
 * before any parse where the scan already says so.
 */
export function parseJsonFast(
  text: string,
  maxShape = Infinity,
):
  | { value: JsonValue; beyondDouble?: true }
  | { duplicateKey: true }
  | { tooDeep: true }
  | { overBound: number }
  | { syntaxError: string }
  | undefined {
  const facts = scanText(text, maxShape);
  if (facts.tooDeep) return { tooDeep: true };
  if (facts.overBound !== undefined) return { overBound: facts.overBound };
  // A polluted Object.prototype would add its keys to every for-in of the walk.
  if (facts.unusual || hasEnumerableKey(Object.prototype)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { syntaxError: error instanceof Error ? error.message : String(error) };
  }
  const state: WalkState = { keys: 0, facts, misses: 0, ok: true, beyondDouble: false };
  const value = walk(parsed, state);
  if (!state.ok) return undefined;
  if (state.keys !== facts.keys) return { duplicateKey: true };
  return state.beyondDouble
    ? { value: value as JsonValue, beyondDouble: true }
    : { value: value as JsonValue };
}
