import { CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-chars.js';
import { toPointer } from './json-pointer.js';
import { closingQuote } from './parse-json-fast.js';

/** What to find in JSON text; the scan stops at the first place that matches. */
export interface TextQuery {
  /** A key its object already has. */
  repeatedKey?: boolean;
  /** An object or array at this depth (the root is at depth 0). */
  depth?: number;
  /** A character offset, such as a syntax error's: the value being read there. */
  position?: number;
}

// An open object (its keys so far when repeats are looked for, and whether a key comes next) or an
// open array (no `object`).
interface Scope {
  object: boolean;
  keys?: Set<string>;
  awaitingKey: boolean;
}

// Called, not loaded from each string (see parse-json-fast.ts).
const charCodeAt = String.prototype.charCodeAt;
const indexOf = String.prototype.indexOf;

// A key as the parser reads it; text that is not a valid string (a syntax error) as it stands.
// Only a key with an escape needs the parser.
function readKey(literal: string): string {
  if (indexOf.call(literal, '\\') === -1) return literal.slice(1, -1);
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}

/**
 * The JSON pointer (RFC 6901) of the first place in `text` that `query` matches, found by one scan
 * of the text: `path` holds the key or index of each open object or array. Only for naming the
 * field of a body the parser refused, but that body can be a megabyte of junk, so the scan costs
 * a few nanoseconds a character: keys are read (and remembered) only as the query needs them.
 * '' for the root, or when nothing matches.
 */
export function pointerInText(text: string, query: TextQuery): string {
  const scopes: Scope[] = [];
  // Keys as their literal text (quotes included) until the pointer is written: most are popped unread.
  const path: Array<string | number> = [];
  const end = Math.min(query.position ?? text.length, text.length);
  const repeats = query.repeatedKey === true;
  const pointer = () => toPointer(path.map((part) => (typeof part === 'number' ? part : readKey(part))));
  let scope: Scope | undefined;
  for (let i = 0; i < end; i++) {
    const code = charCodeAt.call(text, i);
    if (code === QUOTE) {
      const close = closingQuote(text, i);
      // A string still open where the query stops: a key is not named yet, a value is.
      if (close === -1 || close >= end) return pointer();
      if (scope?.awaitingKey) {
        const literal = text.slice(i, close + 1);
        path.push(literal);
        if (scope.keys) {
          const key = readKey(literal);
          if (scope.keys.has(key)) return pointer();
          scope.keys.add(key);
        }
        scope.awaitingKey = false;
      }
      i = close;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      if (scopes.length === query.depth) return pointer();
      const object = code === OPEN_OBJECT;
      scope = { object, keys: object && repeats ? new Set() : undefined, awaitingKey: object };
      scopes.push(scope);
      if (!object) path.push(0);
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      // An object closed right after a key (`{}` or a trailing comma) has no key in the path.
      if (!scope?.awaitingKey) path.pop();
      scopes.pop();
      scope = scopes.at(-1);
    } else if (code === COMMA && scope) {
      if (scope.object) {
        path.pop();
        scope.awaitingKey = true;
      } else path.push((path.pop() as number) + 1);
    } else if (code === COLON && scope) scope.awaitingKey = false;
  }
  return query.position === undefined ? '' : pointer();
}
