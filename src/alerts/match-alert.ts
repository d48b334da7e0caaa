import type { AlertQuery } from './alert-store.js';
import { isAtLeast } from './priority.js';
import type { StoredAlert } from './stored-alert.js';

/** True when the stored alert passes every filter of the query (the limit is not a filter). */
export function matchesQuery(
  entry: Pick<StoredAlert, 'rule' | 'priority' | 'source' | 'hostname' | 'tags' | 'namespace' | 'timeMs'>,
  query: Omit<AlertQuery, 'limit'>,
): boolean {
  if (query.rule !== undefined && entry.rule !== query.rule) return false;
  if (query.priority !== undefined && entry.priority !== query.priority) return false;
  if (query.minPriority !== undefined && !isAtLeast(entry.priority, query.minPriority)) return false;
  if (query.source !== undefined && entry.source !== query.source) return false;
  // An empty hostname or namespace asks for the alerts without one, empty or left out alike.
  if (query.hostname !== undefined && (entry.hostname ?? '') !== query.hostname) return false;
  if (query.tag !== undefined && !entry.tags?.includes(query.tag)) return false;
  if (query.namespace !== undefined && (entry.namespace ?? '') !== query.namespace) return false;
  if (query.sinceMs !== undefined && entry.timeMs < query.sinceMs) return false;
  return true;
}
