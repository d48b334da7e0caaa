import { parse } from 'lossless-json';
import { parseJsonFast } from './parse-json-fast.js';

/** A JSON value as we keep it: integers outside the safe range stay exact as bigint. */
export type JsonValue =
  string | number | bigint | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type ParseJsonResult =
  { ok: true; value: JsonValue } | { ok: false; kind: 'malformed' | 'duplicate_key'; message: string };

const INTEGER = /^-?\d+$/;

// Numbers become JS numbers unless that would lose digits of an integer (Falco's ns timestamps).
function parseNumber(text: string): number | bigint {
  const value = Number(text);
  if (!Number.isSafeInteger(value) && INTEGER.test(text)) return BigInt(text);
  return value;
}

/**
 * Parses JSON text strictly: one value, no trailing data, no duplicate keys, and integers above
 * 2^53 kept exact. `__proto__` and `constructor` keys become plain own properties (lossless-json
 * defines them as data), so they never reach a prototype.
 */
export function parseJson(text: string): ParseJsonResult {
  // ~8x faster when provably identical; anything unusual (and every error) takes the strict path.
  const fast = parseJsonFast(text);
  if (fast) return { ok: true, value: fast.value };
  return parseJsonStrict(text);
}

/** The strict parser alone (lossless-json); `parseJson` gives the same results, faster. */
export function parseJsonStrict(text: string): ParseJsonResult {
  try {
    return { ok: true, value: parse(text, null, parseNumber) as JsonValue };
  } catch (error) {
    // RangeError: nesting deep enough to exhaust the stack is junk, not a server error.
    const message = error instanceof Error ? error.message : String(error);
    const kind = message.startsWith('Duplicate key') ? 'duplicate_key' : 'malformed';
    return { ok: false, kind, message: error instanceof RangeError ? 'JSON nesting is too deep' : message };
  }
}
