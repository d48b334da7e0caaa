import type { StoreColumns } from './alert-columns.js';
import { counterOf } from './alert-ids.js';

/** The receipt number of the held alert with this id. */
export function findColumnAlert(store: StoreColumns, id: string): number | undefined {
  const { col, slotOf } = store;
  const ownPrefix = store.ownPrefix();
  const first = store.first();
  const next = store.next();
  const counter = ownPrefix === undefined ? undefined : counterOf(id, ownPrefix);
  if (counter === undefined) {
    const seq = store.byId.get(id);
    return seq !== undefined && seq >= first && col.ids[slotOf(seq)] === id ? seq : undefined;
  }
  // The first held alert whose counter is at least the id's, then past any other ids repeating it.
  let low = first;
  let high = next;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (col.counter[slotOf(middle)]! < counter) low = middle + 1;
    else high = middle;
  }
  for (let seq = low; seq < next && col.counter[slotOf(seq)] === counter; seq++)
    if (col.ids[slotOf(seq)] === undefined) return seq;
  return undefined;
}
