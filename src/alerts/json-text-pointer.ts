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

// An open object (its keys so far, and whether a key comes next) or an open array.
interface Scope {
  keys?: Set<string>;
  awaitingKey: boolean;
}

// A key as the parser reads it; text that is not a valid string (a syntax error) as it stands.
function readKey(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}

/**
 * The JSON pointer (RFC 6901) of the first place in `text` that `query` matches, found by one scan
 * of the text: `path` holds the key or index of each open object or array. Only for naming the
 * field of a body the parser refused, so the scan is simple rather than fast. '' for the root, or
 * when nothing matches.
 */
export function pointerInText(text: string, query: TextQuery): string {
  const scopes: Scope[] = [];
  const path: Array<string | number> = [];
  const end = Math.min(query.position ?? text.length, text.length);
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const scope = scopes.at(-1);
    if (code === QUOTE) {
      const close = closingQuote(text, i);
      // A string still open where the query stops: a key is not named yet, a value is.
      if (close === -1 || close >= end) return toPointer(path);
      if (scope?.keys && scope.awaitingKey) {
        const key = readKey(text.slice(i, close + 1));
        path.push(key);
        if (query.repeatedKey && scope.keys.has(key)) return toPointer(path);
        scope.keys.add(key);
        scope.awaitingKey = false;
      }
      i = close;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      if (scopes.length === query.depth) return toPointer(path);
      const isObject = code === OPEN_OBJECT;
      scopes.push({ keys: isObject ? new Set() : undefined, awaitingKey: isObject });
      if (!isObject) path.push(0);
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      // An object closed right after a key (`{}` or a trailing comma) has no key in the path.
      if (!scope?.awaitingKey) path.pop();
      scopes.pop();
    } else if (code === COMMA && scope) {
      if (scope.keys) {
        path.pop();
        scope.awaitingKey = true;
      } else path.push((path.pop() as number) + 1);
    } else if (code === COLON && scope) scope.awaitingKey = false;
  }
  return query.position === undefined ? '' : toPointer(path);
}
