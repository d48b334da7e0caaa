// @ts-check
import { el, revealHiddenControls } from './dom.js';

// Past this many values a field offers no more: the list is a help, not an index.
const MAX_SUGGESTIONS = 200;

/**
 * Offers the values seen so far (rules, sources, hostnames) as suggestions for an exact filter.
 * An option's value is what the browser shows and then types into the field, so it is the value
 * with its bidirectional controls named (⟨U+202E⟩): raw, a rule could read backwards in the list.
 * `exactValue` turns a chosen suggestion back into the value as Falco sent it, for the filter.
 * @param {HTMLDataListElement} list
 */
export function createSuggestions(list) {
  /** @type {Map<string, string | undefined>} shown form → exact value; undefined: two values show it */
  const exact = new Map();
  return {
    /** @param {string | undefined} value */
    add(value) {
      if (typeof value !== 'string' || value === '') return;
      const shown = revealHiddenControls(value);
      if (exact.has(shown)) {
        // Two values shown alike (a line break an option cannot show): neither is picked for the
        // text, which is filtered by as typed, rather than the first one seen (maybe a decoy).
        if (exact.get(shown) !== value) exact.set(shown, undefined);
        return;
      }
      if (exact.size >= MAX_SUGGESTIONS) return;
      exact.set(shown, value);
      list.append(el('option', { value: shown }));
    },
    /**
     * The exact value of the suggestion shown as `text`; other text is taken as typed.
     * @param {string} text
     */
    exactValue(text) {
      return exact.get(text) ?? text;
    },
  };
}
