import type { AlertQuery } from '../alerts/alert-store.js';
import { matchesQuery } from '../alerts/match-alert.js';
import { capQueryText } from './capped-text.js';
import { tagsInJson, type EntryFields } from './entry-fields.js';

/** The filters of a read (every given one must match). */
export type AlertFilter = Omit<AlertQuery, 'limit' | 'maxBytes'>;

const capOptional = (text: string | undefined) => (text === undefined ? undefined : capQueryText(text));

/**
 * Whether stream entries (their texts capped, entry-fields.ts) pass `filter`, exactly as the alerts
 * they stand for would: true, false, or undefined when only the alert's JSON can tell (a tag
 * filter, and tags too long to keep beside it).
 */
export function createCappedMatcher(filter: AlertFilter): (fields: EntryFields) => boolean | undefined {
  // Capped alike, two texts are equal exactly when the texts they stand for are.
  const { tag, ...capped } = {
    ...filter,
    rule: capOptional(filter.rule),
    source: capOptional(filter.source),
    hostname: capOptional(filter.hostname),
    namespace: capOptional(filter.namespace),
  };
  return (fields) => {
    if (!matchesQuery(fields, capped)) return false;
    if (tag === undefined) return true;
    const { tagsText } = fields;
    if (tagsInJson(tagsText)) return undefined;
    return tagsText !== '' && (JSON.parse(tagsText) as string[]).includes(tag);
  };
}
