import type { FalcoAlert } from './falco-alert-schema.js';
import { parseJson } from './parse-json.js';
import type { StoredAlert } from './stored-alert.js';

/** What a store holds for one alert: its received text in place of the parsed alert, when given. */
export type HeldAlert = Omit<StoredAlert, 'alert'> & { alert?: FalcoAlert };

/**
 * One string instead of the parsed alert's tree of objects: a fraction of the memory, and nothing
 * for the garbage collector to trace or copy object by object while the alert waits to be evicted.
 */
export function holdAlert(entry: StoredAlert): HeldAlert {
  if (entry.json === undefined) return entry;
  const { alert: _parsed, ...held } = entry;
  return held;
}

/** The stored alert as readers see it: the alert is parsed again, once, when first read. */
export function viewHeldAlert(held: HeldAlert): StoredAlert {
  if (held.alert !== undefined) return held as StoredAlert;
  const json = held.json ?? '';
  let alert: FalcoAlert | undefined;
  return Object.defineProperty({ ...held }, 'alert', {
    enumerable: true,
    get() {
      if (alert) return alert;
      const parsed = parseJson(json);
      // The same text passed the strict parser and the schema when it was received.
      if (!parsed.ok) throw new Error(`stored alert ${held.id} no longer parses: ${parsed.message}`);
      return (alert = parsed.value as FalcoAlert);
    },
  }) as StoredAlert;
}
