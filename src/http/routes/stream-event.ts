import { presentAlertJson } from '../../alerts/serialize-alert.js';
import type { StoredAlert } from '../../alerts/stored-alert.js';

/** `alert` matches the stream's filters; `other` is outside them, sent only to a client that asked (`others=true`). */
export type EventKind = 'alert' | 'other';

function formatEvent(entry: StoredAlert, kind: EventKind): string {
  return `id: ${entry.id}\nevent: ${kind}\ndata: ${presentAlertJson(entry)}\n\n`;
}

/** An alert's Server-Sent Event of a kind, made once per published alert and kind. */
export type EventText = (entry: StoredAlert, kind: EventKind) => string;

export function createEventText(): EventText {
  // One serialisation per published alert and kind, shared by every client.
  const caches = { alert: new WeakMap<StoredAlert, string>(), other: new WeakMap<StoredAlert, string>() };
  return (entry, kind) => {
    let text = caches[kind].get(entry);
    if (text === undefined) {
      text = formatEvent(entry, kind);
      caches[kind].set(entry, text);
    }
    return text;
  };
}
