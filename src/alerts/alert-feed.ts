import type { StorePosition } from './store-position.js';
import type { StoredAlert } from './stored-alert.js';

/** Gets each published alert, with its position when a shared store's reader publishes it. */
export type AlertListener = (entry: StoredAlert, position?: StorePosition) => void;

/** In-process publish/subscribe of accepted alerts: the live stream and trigger verification listen here. */
export interface AlertFeed {
  /** Registers a listener; call the returned function to stop listening. */
  subscribe(listener: AlertListener): () => void;
  publish(entry: StoredAlert, position?: StorePosition): void;
  listenerCount(): number;
}

/** A synchronous feed; a listener that throws is reported and never stops delivery to the others. */
export function createAlertFeed(onListenerError: (error: unknown) => void): AlertFeed {
  const listeners = new Set<AlertListener>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    publish(entry, position) {
      for (const listener of listeners) {
        try {
          listener(entry, position);
        } catch (error) {
          onListenerError(error);
        }
      }
    },
    listenerCount() {
      return listeners.size;
    },
  };
}
