import { parse } from 'lossless-json';
import { pointerInText, type TextQuery } from './json-text-pointer.js';
import { MAX_JSON_DEPTH, countTextKeys, parseJsonFast } from './parse-json-fast.js';

/** A JSON value as we keep it: integers outside the safe range stay exact as bigint. */
export type JsonValue =
  string | number | bigint | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** `pointer`: the JSON pointer of the value where the text goes wrong ('' for the body as a whole). */
export type ParseJsonResult =
  | { ok: true; value: JsonValue }
  | { ok: false; kind: 'malformed' | 'duplicate_key'; message: string; pointer: string };

const INTEGER = /^-?\d+$/;

// A number beyond a double's range is valid JSON that Falco writes: jsoncpp (0.34-0.38) writes an
// infinite double as 1e+9999. It reads as null, as nlohmann (0.39+) writes the same value; the
// alert's text, which is what is logged, stored and served, keeps the literal. lossless-json takes
// a null from parseNumber for no number at all, so it is marked, then replaced after the parse.
const BEYOND_DOUBLE = Symbol('beyond a double');
let sawBeyondDouble = false;

// Numbers become JS numbers unless that would lose digits of an integer (Falco's ns timestamps).
// An integer too long for a double (over 308 digits) is beyond it too: as a bigint, a megabyte of
// digits would cost hundreds of milliseconds to convert, and to write back in the dedup key.
function parseNumber(text: string): number | bigint | typeof BEYOND_DOUBLE {
  const value = Number(text);
  if (Number.isFinite(value))
    return Number.isSafeInteger(value) || !INTEGER.test(text) ? value : BigInt(text);
  sawBeyondDouble = true;
  return BEYOND_DOUBLE;
}

// The parsed value with each marked number null (in place: the value is the parser's own).
function nullBeyondDouble(value: unknown): JsonValue {
  if (value === BEYOND_DOUBLE) return null;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // Written only over a marker, which is always an own data property (so never `__proto__`'s setter).
    for (const key of Object.keys(record))
      if (record[key] === BEYOND_DOUBLE) record[key] = null;
      else nullBeyondDouble(record[key]);
  }
  return value as JsonValue;
}

/**
 * Parses JSON text strictly: one value, no trailing data, no duplicate keys, and integers above
 * 2^53 kept exact. `__proto__` and `constructor` keys become plain own properties (lossless-json
 * defines them as data), so they never reach a prototype.
 */
export function parseJson(text: string): ParseJsonResult {
  // JSON allows a parser to ignore a leading byte order mark.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // ~8x faster when provably identical; anything unusual (and every error) takes the strict path.
  const fast = parseJsonFast(body);
  // A proven duplicate still goes to the strict parser, whose message names the key.
  if (fast && 'value' in fast) return { ok: true, value: fast.value };
  return parseJsonStrict(body);
}

// Where the text goes wrong, by what went wrong: the parser's messages say where only for syntax.
function failure(text: string, kind: 'malformed' | 'duplicate_key', message: string, query: TextQuery) {
  return { ok: false, kind, message, pointer: pointerInText(text, query) } as const;
}

const POSITION = /at position (\d+)$/;

// Keys in a parsed value; fewer than in the text means a key was repeated with the same value,
// which lossless-json lets through.
function countValueKeys(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + countValueKeys(item), 0);
  return Object.values(value).reduce((sum: number, item) => sum + 1 + countValueKeys(item), 0);
}

// How deep a parsed value nests, counting stops just past the limit.
function exceedsDepth(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth >= MAX_JSON_DEPTH) return true;
  const items = Array.isArray(value) ? value : Object.values(value);
  return items.some((item) => exceedsDepth(item, depth + 1));
}

/** The strict parser alone (lossless-json); `parseJson` gives the same results, faster. */
export function parseJsonStrict(text: string): ParseJsonResult {
  try {
    sawBeyondDouble = false;
    const value = parse(text, null, parseNumber) as JsonValue;
    if (exceedsDepth(value, 0)) {
      const message = `JSON nesting is deeper than ${MAX_JSON_DEPTH} levels`;
      return failure(text, 'malformed', message, { depth: MAX_JSON_DEPTH });
    }
    if (countValueKeys(value) !== countTextKeys(text)) {
      // lossless-json lets a key repeated with the same value through: the scan finds it.
      const message = 'Duplicate key: an object repeats a key';
      return failure(text, 'duplicate_key', message, { repeatedKey: true });
    }
    // After the depth check: the walk nests no deeper than MAX_JSON_DEPTH.
    return { ok: true, value: sawBeyondDouble ? nullBeyondDouble(value) : value };
  } catch (error) {
    // RangeError: nesting deep enough to exhaust the stack is junk, not a server error.
    if (error instanceof RangeError)
      return failure(text, 'malformed', 'JSON nesting is too deep', { depth: MAX_JSON_DEPTH });
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith('Duplicate key'))
      return failure(text, 'duplicate_key', message, { repeatedKey: true });
    const position = POSITION.exec(message)?.[1];
    return failure(text, 'malformed', message, { position: position === undefined ? 0 : Number(position) });
  }
}
