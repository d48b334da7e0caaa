import type { AlertQuery } from './alert-store.js';
import { isAtLeast } from './priority.js';
import type { StoredAlert } from './stored-alert.js';

/** True when the stored alert passes every filter of the query (the limit is not a filter). */
export function matchesQuery(entry: StoredAlert, query: Omit<AlertQuery, 'limit'>): boolean {
  const { alert } = entry;
  if (query.rule !== undefined && alert.rule !== query.rule) return false;
  if (query.priority !== undefined && alert.priority !== query.priority) return false;
  if (query.minPriority !== undefined && !isAtLeast(alert.priority, query.minPriority)) return false;
  if (query.source !== undefined && entry.source !== query.source) return false;
  if (query.hostname !== undefined && alert.hostname !== query.hostname) return false;
  if (query.sinceMs !== undefined && entry.timeMs < query.sinceMs) return false;
  return true;
}
