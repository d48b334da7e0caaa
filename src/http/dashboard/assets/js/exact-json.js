// @ts-check
// Falco's ns timestamps (evt.time) are integers above 2^53: plain JSON.parse would round them.
// (And 1.0 would read as 1: the page shows what Falco sent.)
// Browsers with JSON.parse source access (Chromium 114+) hand the reviver the literal's text,
// so such integers become BigInt and are shown with every digit; elsewhere they stay numbers.

const INTEGER = /^-?\d+$/;

/**
 * A number whose literal says more than the number reads back as (`1.0`, `1e3`, `-0`): shown, and
 * written in the raw JSON, as Falco sent it.
 */
export class NumberText {
  /** @param {string} source */
  constructor(source) {
    this.source = source;
  }
  toString() {
    return this.source;
  }
}

/**
 * @param {string} key
 * @param {unknown} value
 * @param {{ source?: string } | undefined} context
 */
function keepExactNumbers(key, value, context) {
  const source = context?.source;
  if (typeof value !== 'number' || typeof source !== 'string' || String(value) === source) return value;
  if (INTEGER.test(source) && !Number.isSafeInteger(value)) return BigInt(source);
  return new NumberText(source);
}

/**
 * JSON.parse that keeps integers above 2^53 exact as BigInt, and other numbers written otherwise
 * than they read back as NumberText, where the browser allows.
 * @param {string} text
 * @returns {any}
 */
export function parseExactJson(text) {
  return JSON.parse(text, /** @type {any} */ (keepExactNumbers));
}

/**
 * JSON text of a value that may hold BigInt or NumberText, written as the numbers they came as.
 * @param {unknown} value
 * @param {number} [space]
 */
export function stringifyExactJson(value, space) {
  const json = /** @type {any} */ (JSON);
  return JSON.stringify(
    value,
    (_key, item) => {
      if (typeof item !== 'bigint' && !(item instanceof NumberText)) return item;
      if (typeof json.rawJSON === 'function') return json.rawJSON(String(item));
      return typeof item === 'bigint' ? String(item) : Number(item.source);
    },
    space,
  );
}
