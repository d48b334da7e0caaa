import type { Logger } from 'pino';
import type { AlertFeed } from '../../alerts/alert-feed.js';
import { isAfter, type StorePosition } from '../../alerts/store-position.js';
import { StoreUnavailableError } from '../../store/store-unavailable-error.js';
import type { StreamConnection } from './stream-connection.js';
import { readReplay, type ReplayRequest } from './stream-replay.js';
import { LIVE_GAP } from './stream-truncated.js';

export interface ResumeOptions extends Pick<
  ReplayRequest,
  'store' | 'budget' | 'lastId' | 'address' | 'eventFor'
> {
  feed: AlertFeed;
  /** Most bytes replayed (QUERY_MAX_BYTES). */
  replayMaxBytes: number;
  /** The client's buffer bound (STREAM_CLIENT_MAX_BUFFERED_BYTES). */
  maxClientBufferedBytes: number;
  /** The request's logger. */
  log: Logger;
}

/** Feeds a reconnecting client what it missed since its Last-Event-ID, then the live alerts. */
export function resumeStream(connection: StreamConnection, options: ResumeOptions): void {
  const { send, drop } = connection;
  const { eventFor } = options;
  // Replay what a reconnecting client missed (bounded). Alerts arriving meanwhile wait in `live`
  // and are sent after the replay. A shared store's reader runs behind its reads (after a dropped
  // link, even behind the client's Last-Event-ID): what it publishes up to where the replay's read
  // ended (`through`) the client has had, or was told it missed, and is dropped: each alert comes
  // once, in the store's order.
  let live: { events: Array<{ position?: StorePosition; text: string }>; bytes: number } | undefined = {
    events: [],
    bytes: 0,
  };
  let through: StorePosition | undefined;
  const isNew = (position?: StorePosition) => !through || !position || isAfter(position, through);
  const deliver = (text: string, position?: StorePosition) => {
    if (!live) {
      send(text);
      return;
    }
    live.events.push({ position, text });
    live.bytes += text.length;
    // Held for this client as if waiting in its socket (a slow shared store, a burst): past its
    // bound it is cut off, and reconnects from its Last-Event-ID.
    if (live.bytes > options.maxClientBufferedBytes) drop('client_buffer');
  };
  connection.setUnsubscribe(
    options.feed.subscribe(
      (entry, position) => {
        if (!isNew(position)) return;
        const text = eventFor(entry);
        if (text !== undefined) deliver(text, position);
      },
      // Alerts the reader never saw: told unless all of them were where the replay read (it sent
      // them, or said they were missing).
      (gap) => {
        if (isNew(gap.through)) deliver(LIVE_GAP, gap.through);
      },
    ),
  );
  // Ends the stream with `comment`, before any live alert: the client reconnects after `retry`
  // from the same Last-Event-ID.
  const endForReconnect = (comment: string) => {
    send(comment);
    connection.end();
  };
  void readReplay({
    store: options.store,
    budget: options.budget,
    lastId: options.lastId,
    address: options.address,
    // Half the client bound: the replay must not get its own reader cut off.
    maxBytes: Math.min(options.replayMaxBytes, options.maxClientBufferedBytes / 2),
    eventFor,
    gone: connection.stopped,
  }).then(
    (replay) => {
      // Readers hold QUERY_MAX_INFLIGHT_BYTES: the client comes back after `retry`, from the same id.
      if (replay === 'no_room')
        return endForReconnect(': replay put off (QUERY_MAX_INFLIGHT_BYTES), reconnect\n\n');
      if (!replay) return;
      through = replay.through;
      for (const text of replay.texts) if (!send(text)) return;
      for (const event of live?.events ?? []) if (isNew(event.position) && !send(event.text)) return;
      live = undefined;
    },
    (error: unknown) => {
      // The store unavailable (Redis down, busy, failing over) is said by the store itself
      // (store_down, the live reader's store_read_refused), and a read it fails logs nothing: a line with a stack at each reconnect of each
      // client flooded the log for as long as it lasted (790 lines in one failover run, found by review).
      const unavailable = error instanceof StoreUnavailableError;
      options.log[unavailable ? 'debug' : 'warn'](
        { err: error, event: 'stream_replay_failed' },
        'live stream replay failed',
      );
      // Live alerts sent now would move the client's Last-Event-ID past the ones it missed: it
      // comes back after `retry` from the same id instead, as when the replay is put off.
      endForReconnect(': replay failed, reconnect\n\n');
    },
  );
}
