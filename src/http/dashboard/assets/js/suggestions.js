// @ts-check
import { el, revealValue } from './dom.js';

// Past this many values a field offers no more: the list is a help, not an index.
const MAX_SUGGESTIONS = 200;

/**
 * Offers the values seen so far (rules, sources, hostnames) as suggestions for an exact filter.
 * An option's value is what the browser shows and then types into the field, so it is the value
 * as revealValue shows it (⟨U+202E⟩, ⟨U+000A⟩): raw, a rule could read backwards in the list, and
 * a line break would be dropped by the field.
 * `exactValue` turns a chosen suggestion back into the value as Falco sent it, for the filter.
 * @param {HTMLDataListElement} list
 */
export function createSuggestions(list) {
  // Shown form → exact value. Two values never share a shown form: revealValue names every
  // invisible character, line break and tab and its own marker's bracket, so the form is the value's own.
  /** @type {Map<string, string>} */
  const exact = new Map();
  return {
    /** @param {string | undefined} value */
    add(value) {
      if (typeof value !== 'string' || value === '') return;
      const shown = revealValue(value);
      if (exact.has(shown) || exact.size >= MAX_SUGGESTIONS) return;
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
