import type { StorePosition } from './store-position.js';
import type { StoredAlert } from './stored-alert.js';

/** Gets each published alert, with its position when a shared store's reader publishes it. */
export type AlertListener = (entry: StoredAlert, position?: StorePosition) => void;

/**
 * Alerts a shared store's reader never published: removed from the store (trimmed, expired, shed)
 * before it read them. Published in order, before the alerts read after them.
 */
export interface FeedGap {
  /** The newest position a missing alert may have held: a stream replay that read past it covered them. */
  through: StorePosition;
  /**
   * When the newest missing alert was stored, on this process's clock (`through` is on Redis's,
   * which stamps stream ids): trigger runs started on this clock compare with it.
   */
  storedAtMs?: number;
}

/** Gets each gap in what the feed published. */
export type GapListener = (gap: FeedGap) => void;

/** In-process publish/subscribe of accepted alerts: the live stream and trigger verification listen here. */
export interface AlertFeed {
  /** Registers a listener (and one for gaps); call the returned function to stop listening. */
  subscribe(listener: AlertListener, onGap?: GapListener): () => void;
  publish(entry: StoredAlert, position?: StorePosition): void;
  /** Only a shared store's reader publishes gaps: the in-memory store publishes each alert as it stores it. */
  publishGap(gap: FeedGap): void;
  listenerCount(): number;
}

/** A synchronous feed; a listener that throws is reported and never stops delivery to the others. */
export function createAlertFeed(onListenerError: (error: unknown) => void): AlertFeed {
  const listeners = new Map<AlertListener, GapListener | undefined>();
  return {
    subscribe(listener, onGap) {
      listeners.set(listener, onGap);
      return () => listeners.delete(listener);
    },
    publish(entry, position) {
      for (const listener of listeners.keys()) {
        try {
          listener(entry, position);
        } catch (error) {
          onListenerError(error);
        }
      }
    },
    publishGap(gap) {
      for (const onGap of listeners.values()) {
        try {
          onGap?.(gap);
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
