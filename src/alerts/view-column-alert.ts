import type { StoreColumns } from './alert-columns.js';
import { formatAlertId } from './alert-ids.js';
import { viewHeldAlert, type HeldAlert } from './held-alert.js';
import type { StoredAlert } from './stored-alert.js';
import { isoTime } from '../logging/iso-time.js';

const idAt = ({ col, ownPrefix }: StoreColumns, slot: number) =>
  col.ids[slot] ?? formatAlertId(ownPrefix()!, col.counter[slot]!);

function fieldsAt(store: StoreColumns, slot: number): HeldAlert {
  const { col } = store;
  return {
    id: idAt(store, slot),
    receivedAt: col.receivedAt[slot] ?? isoTime(col.receivedAtMs[slot]!),
    receivedAtMs: col.receivedAtMs[slot]!,
    timeMs: col.timeMs[slot]!,
    source: col.source[slot]!,
    bytes: col.bytes[slot]!,
    rule: col.rule[slot]!,
    priority: col.priority[slot]!,
    hostname: col.hostname[slot],
    tags: col.tags[slot] as string[] | undefined,
    namespace: col.namespace[slot],
  };
}

/** The alert in `slot` as readers see it: its fields made again from the columns, its text from the ring. */
export function viewColumnAlert(store: StoreColumns, slot: number): StoredAlert {
  const { col } = store;
  const held = col.held[slot];
  if (held) return viewHeldAlert(held);
  const json = store.ring.read({ offset: col.textOffset[slot]!, length: col.textLength[slot]! });
  return viewHeldAlert({ ...fieldsAt(store, slot), json });
}
