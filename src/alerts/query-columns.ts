import type { StoreColumns } from './alert-columns.js';
import type { AlertQuery, AlertsFound } from './alert-store.js';
import { matchesQuery } from './match-alert.js';
import type { Priority } from './priority.js';
import type { StoredAlert } from './stored-alert.js';
import { startTurnClock } from './turn-clock.js';
import { viewColumnAlert } from './view-column-alert.js';

/**
 * A memory store's `query`: the newest alerts that match `query`, at most `query.limit`, read a
 * couple of milliseconds at a time: copying 8 MB of texts out of the ring held the loop for 40 ms and
 * more. Alerts added meanwhile are not read; one evicted meanwhile ends the list, as the older ones
 * went before it.
 */
export function createColumnQuery(store: StoreColumns): (query: AlertQuery) => Promise<AlertsFound> {
  const { col, slotOf } = store;

  // What a query's filters read of an alert, filled in place for each alert scanned: a scan of the
  // whole store makes no object (and no id or time string) for the alerts that do not match.
  const probe = {
    rule: '',
    priority: 'Debug' as Priority,
    source: '',
    hostname: undefined as string | undefined,
    tags: undefined as string[] | undefined,
    namespace: undefined as string | undefined,
    timeMs: 0,
  };

  return async function collect(query) {
    const found: StoredAlert[] = [];
    const maxBytes = query.maxBytes ?? Number.POSITIVE_INFINITY;
    const turn = startTurnClock();
    let bytes = 0;
    for (let seq = store.next() - 1; found.length < query.limit && bytes <= maxBytes; seq--) {
      if (turn.spent()) await turn.next();
      if (seq < store.first()) break;
      const slot = slotOf(seq);
      probe.rule = col.rule[slot]!;
      probe.priority = col.priority[slot]!;
      probe.source = col.source[slot]!;
      probe.hostname = col.hostname[slot];
      probe.tags = col.tags[slot] as string[] | undefined;
      probe.namespace = col.namespace[slot];
      probe.timeMs = col.timeMs[slot]!;
      if (!matchesQuery(probe, query)) continue;
      found.push(viewColumnAlert(store, slot));
      // Received bytes, as the list's cut and a shared store count them, not the text's (`cost`):
      // invalid UTF-8 is held as U+FFFD, three bytes for one, and a 30 kB body held as 90 kB ended
      // the list at it alone, older matches left out and the list not said to be cut.
      bytes += col.bytes[slot]!;
    }
    return { alerts: found };
  };
}
