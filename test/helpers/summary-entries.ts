import type { AlertStore } from '../../src/alerts/alert-store.js';
import type { StoredAlert } from '../../src/alerts/stored-alert.js';

/** What a store gives the dashboard's summary of one alert (alert-store.ts, SummaryCount). */
export type SummaryEntry = Pick<StoredAlert, 'receivedAtMs' | 'priority' | 'rule'>;

/** What `store` gives the summary from `sinceMs` on, gathered in the order given (newest first). */
export async function readSummaryEntries(
  store: Pick<AlertStore, 'receivedSince'>,
  sinceMs: number,
): Promise<SummaryEntry[]> {
  const entries: SummaryEntry[] = [];
  await store.receivedSince(sinceMs, (receivedAtMs, priority, rule) =>
    entries.push({ receivedAtMs, priority, rule }),
  );
  return entries;
}
