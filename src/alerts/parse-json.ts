import { parse } from 'lossless-json';
import { pointerInText, type TextQuery } from './json-text-pointer.js';
import { MAX_JSON_DEPTH, parseJsonFast, textShape } from './parse-json-fast.js';

/** A JSON value as we keep it: integers outside the safe range stay exact as bigint. */
export type JsonValue =
  string | number | bigint | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** `pointer`: the JSON pointer of the value where the text goes wrong ('' for the body as a whole). */
export type ParseJsonResult =
  | { ok: true; value: JsonValue; beyondDouble?: true }
  | { ok: false; kind: 'malformed' | 'duplicate_key' | 'too_large'; message: string; pointer: string };

const INTEGER = /^-?\d+$/;

// A number beyond a double's range is valid JSON that Falco writes: jsoncpp (0.34-0.38) writes an
// infinite double as 1e+9999. It reads as null, as nlohmann (0.39+) writes the same value, and the
// result says so (`beyondDouble`): the alert's text, which is logged, stored and served, is then
// written with null there too (nullBeyondDoubleInText). lossless-json takes a null from
// parseNumber for no number at all, so it is marked, then replaced after the parse.
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
 * defines them as data), so they never reach a prototype. With `maxShape`, text that writes more
 * object keys, or more objects and arrays, than that is refused (`too_large`) from one scan, before
 * any parser builds them.
 */
export function parseJson(text: string, maxShape = Infinity): ParseJsonResult {
  // JSON allows a parser to ignore a leading byte order mark.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // ~8x faster when provably identical. Nesting, bounds and repeated keys are refused with the
  // strict path's own answers, without it.
  const fast = parseJsonFast(body, maxShape);
  if (fast === undefined) return parseJsonExact(body);
  if ('value' in fast)
    return fast.beyondDouble
      ? { ok: true, value: fast.value, beyondDouble: true }
      : { ok: true, value: fast.value };
  if ('syntaxError' in fast) return syntaxFailure(body, fast.syntaxError);
  if ('overBound' in fast) return overBound(body, maxShape, fast.overBound);
  return 'tooDeep' in fast ? tooDeep(body) : repeatedKey(body);
}

// JSON.parse hands a reviver each number's literal (TC39's JSON.parse source text access: V8 11.4,
// Node 21 and later); Node 20 does not.
const SOURCE_TEXT_ACCESS = (() => {
  let source: unknown;
  JSON.parse('1', (_key, value: unknown, context?: { source?: string }) => {
    source = context?.source;
    return value;
  });
  return source === '1';
})();

// As parseNumber reads it, from the literal JSON.parse was given.
function exactNumber(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value;
  if (!Number.isFinite(value)) {
    sawBeyondDouble = true;
    return null;
  }
  const literal = context?.source;
  return literal !== undefined && INTEGER.test(literal) ? BigInt(literal) : value;
}

// Valid JSON whose numbers the fast path could not prove (two literals of one double above 2^53:
// 9007199254740993 and 9007199254740992, or 100000000000000000000 and 1e20; more than 256 such
// doubles): native JSON.parse with each number read from its literal, at about a tenth of the
// strict parser's cost per byte. The strict parser where the runtime has no literals to give.
function parseJsonExact(text: string): ParseJsonResult {
  if (!SOURCE_TEXT_ACCESS) return parseJsonStrict(text);
  sawBeyondDouble = false;
  let value: JsonValue;
  try {
    value = JSON.parse(text, exactNumber) as JsonValue;
  } catch (error) {
    // Not JSON (an unclosed string sends it here without a parse first).
    return syntaxFailure(text, error instanceof Error ? error.message : String(error));
  }
  if (countValueKeys(value) !== textShape(text).keys) return repeatedKey(text);
  return sawBeyondDouble ? { ok: true, value, beyondDouble: true } : { ok: true, value };
}

// Above this many characters, a syntax error's message and place are JSON.parse's, not the strict
// parser's: it reads a character at a time and builds every value before the error (up to a second
// for a megabyte of keys, in the service's small heap), which junk must not cost.
const STRICT_MESSAGE_MAX_CHARS = 64 * 1024;
const V8_PLACE = / in JSON at position (\d+)(?: \(line \d+ column \d+\))?$/;
// JSON.parse quotes the text around an unexpected token: not repeated back to the sender.
const V8_QUOTED = /, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s;

function syntaxFailure(text: string, message: string): ParseJsonResult {
  if (text.length <= STRICT_MESSAGE_MAX_CHARS) return parseJsonStrict(text);
  const place = V8_PLACE.exec(message);
  if (place)
    return failure(text, 'malformed', `${message.slice(0, place.index)} at position ${place[1]}`, {
      position: Number(place[1]),
    });
  // 'Unexpected end of JSON input', or an unexpected token, which JSON.parse does not place.
  const unexpectedEnd = message.startsWith('Unexpected end');
  return failure(text, 'malformed', message.replace(V8_QUOTED, ''), {
    position: unexpectedEnd ? text.length : 0,
  });
}

// Where the text goes wrong, by what went wrong: the parser's messages say where only for syntax.
function failure(text: string, kind: 'malformed' | 'duplicate_key', message: string, query: TextQuery) {
  return { ok: false, kind, message, pointer: pointerInText(text, query) } as const;
}

const tooDeep = (text: string) =>
  failure(text, 'malformed', `JSON nesting is deeper than ${MAX_JSON_DEPTH} levels`, {
    depth: MAX_JSON_DEPTH,
  });

const overBound = (text: string, maxShape: number, position: number) =>
  ({
    ok: false,
    kind: 'too_large',
    message: `more than ${maxShape} object keys, or objects and arrays, in one body: far more than an alert holds`,
    pointer: pointerInText(text, { position }),
  }) as const;

// The pointer names the key (the message does not echo it: a key can be a megabyte long).
const repeatedKey = (text: string) =>
  failure(text, 'duplicate_key', 'Duplicate key: an object repeats a key', { repeatedKey: true });

const POSITION = /at position (\d+)$/;

// Keys in a parsed value; fewer than in the text means a key was repeated with the same value,
// which lossless-json lets through.
function countValueKeys(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + countValueKeys(item), 0);
  return Object.values(value).reduce((sum: number, item) => sum + 1 + countValueKeys(item), 0);
}

/** The strict parser alone (lossless-json); `parseJson` gives the same results, faster. */
export function parseJsonStrict(text: string): ParseJsonResult {
  // Nesting is measured before the parse, as parseJson does (lossless-json recurses once per
  // level); the same scan's key count finds a repeat after it.
  const shape = textShape(text);
  if (shape.tooDeep) return tooDeep(text);
  try {
    sawBeyondDouble = false;
    const value = parse(text, null, parseNumber) as JsonValue;
    // lossless-json lets a key repeated with the same value through: the scan finds it.
    if (countValueKeys(value) !== shape.keys) return repeatedKey(text);
    return sawBeyondDouble
      ? { ok: true, value: nullBeyondDouble(value), beyondDouble: true }
      : { ok: true, value };
  } catch (error) {
    // RangeError: the stack ran out all the same (never seen after the depth scan): junk, not a server error.
    if (error instanceof RangeError) return tooDeep(text);
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith('Duplicate key')) return repeatedKey(text);
    const position = POSITION.exec(message)?.[1];
    return failure(text, 'malformed', message, { position: position === undefined ? 0 : Number(position) });
  }
}
