import type { StoredAlert } from './stored-alert.js';

export type AlertListener = (entry: StoredAlert) => void;

/** In-process publish/subscribe of accepted alerts: the live stream and trigger verification listen here. */
export interface AlertFeed {
  /** Registers a listener; call the returned function to stop listening. */
  subscribe(listener: AlertListener): () => void;
  publish(entry: StoredAlert): void;
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
    publish(entry) {
      for (const listener of listeners) {
        try {
          listener(entry);
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
