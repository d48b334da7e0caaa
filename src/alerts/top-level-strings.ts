import { CLOSE_ARRAY, CLOSE_OBJECT, COMMA, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-chars.js';
import { closingQuote } from './parse-json-fast.js';

/**
 * The string values of the named keys at the top level of a JSON object's text, read without
 * parsing the rest: strings are jumped over (to their closing quote), nested objects and arrays only
 * counted into and out of, and only the named keys' values are parsed. For text a JSON parser has
 * accepted (a stored alert's); undefined when it is not an object.
 */
export function readTopLevelStrings(
  text: string,
  names: ReadonlySet<string>,
): Map<string, string> | undefined {
  // Whitespace and a byte order mark may come first.
  const start = text.search(/\S/);
  if (start < 0 || text.charCodeAt(start) !== OPEN_OBJECT) return undefined;
  const found = new Map<string, string>();
  let depth = 0;
  // At the top level a string is a key right after `{` or `,`, else the value of `key`.
  let atKey = false;
  let key = '';
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      const close = closingQuote(text, i);
      if (close < 0) return undefined;
      if (depth === 1 && atKey) key = JSON.parse(text.slice(i, close + 1)) as string;
      else if (depth === 1 && names.has(key)) found.set(key, JSON.parse(text.slice(i, close + 1)) as string);
      atKey = false;
      i = close;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      depth++;
      atKey = depth === 1;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      depth--;
      if (depth === 0) break;
    } else if (code === COMMA && depth === 1) atKey = true;
  }
  return found;
}
