// @ts-check
// Falco's ns timestamps (evt.time) are integers above 2^53: plain JSON.parse would round them.
// Browsers with JSON.parse source access (Chromium 114+) hand the reviver the literal's text,
// so such integers become BigInt and are shown with every digit; elsewhere they stay numbers.

const INTEGER = /^-?\d+$/;

/**
 * @param {string} key
 * @param {unknown} value
 * @param {{ source?: string } | undefined} context
 */
function keepExactIntegers(key, value, context) {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value;
  const source = context?.source;
  return typeof source === 'string' && INTEGER.test(source) ? BigInt(source) : value;
}

/**
 * JSON.parse that keeps integers above 2^53 exact as BigInt where the browser allows.
 * @param {string} text
 * @returns {any}
 */
export function parseExactJson(text) {
  return JSON.parse(text, /** @type {any} */ (keepExactIntegers));
}

/**
 * JSON text of a value that may hold BigInt, written as plain numbers.
 * @param {unknown} value
 * @param {number} [space]
 */
export function stringifyExactJson(value, space) {
  const json = /** @type {any} */ (JSON);
  return JSON.stringify(
    value,
    (_key, item) =>
      typeof item === 'bigint'
        ? typeof json.rawJSON === 'function'
          ? json.rawJSON(String(item))
          : String(item)
        : item,
    space,
  );
}
