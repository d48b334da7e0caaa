import type { AlertQuery } from '../alerts/alert-store.js';
import { matchesQuery } from '../alerts/match-alert.js';
import { capQueryText } from './capped-text.js';
import { namespaceInJson, tagsInJson, type EntryFields } from './entry-fields.js';
import { parseStoredJson } from './stored-json.js';

/** The filters of a read (every given one must match). */
export type AlertFilter = Omit<AlertQuery, 'limit' | 'maxBytes' | 'readAheadBytes'>;

const capOptional = (text: string | undefined) => (text === undefined ? undefined : capQueryText(text));

/**
 * Whether stream entries (their texts capped, entry-fields.ts) pass `filter`, exactly as the alerts
 * they stand for would: true, false, or undefined when only the alert's JSON can tell (a tag
 * filter, and tags too long to keep beside it; a namespace filter, and a k8saudit alert an earlier
 * version wrote without its namespace).
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
  const { namespace: _namespace, ...others } = capped;
  return (fields) => {
    // An entry that may have left its namespace out (namespaceInJson): the other filters, then the JSON.
    const unknownNamespace = filter.namespace !== undefined && namespaceInJson(fields);
    if (!matchesQuery(fields, unknownNamespace ? others : capped)) return false;
    if (unknownNamespace) return undefined;
    if (tag === undefined) return true;
    const { tagsText } = fields;
    if (tagsInJson(tagsText)) return undefined;
    return tagsText !== '' && parseStoredJson<string[]>(tagsText).includes(tag);
  };
}
