import type { FalcoAlert } from '../../src/alerts/falco-alert-schema.js';
import { fieldsFromAlert, type StoredAlert } from '../../src/alerts/stored-alert.js';

let counter = 0;

/** A stored alert built directly, for store and metrics tests. */
export function makeStoredAlert(
  overrides: Partial<FalcoAlert> = {},
  extra: Partial<StoredAlert> = {},
): StoredAlert {
  counter += 1;
  const alert: FalcoAlert = {
    rule: 'Terminal shell in container',
    priority: 'Notice',
    time: '2026-06-15T09:31:44.611094417Z',
    hostname: 'node-1',
    source: 'syscall',
    output_fields: { 'k8s.ns.name': 'default', 'evt.time': 1781515904611094417n },
    ...overrides,
  };
  const fields = fieldsFromAlert(alert);
  return {
    id: `id-${counter}`,
    receivedAt: '2026-06-15T09:31:45.000Z',
    receivedAtMs: Date.UTC(2026, 5, 15, 9, 31, 45),
    timeMs: Date.UTC(2026, 5, 15, 9, 31, 44, 611),
    bytes: 1000,
    ...fields,
    source: alert.source === undefined ? 'internal' : fields.source,
    ...extra,
  };
}
