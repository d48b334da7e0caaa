import express, { type Response } from 'express';
import type { Registry } from 'prom-client';
import type { AlertFeed } from '../../alerts/alert-feed.js';
import type { AlertStore } from '../../alerts/alert-store.js';
import { matchesQuery } from '../../alerts/match-alert.js';
import { presentAlertJson } from '../../alerts/serialize-alert.js';
import { isAfter, type StorePosition } from '../../alerts/store-position.js';
import type { StoredAlert } from '../../alerts/stored-alert.js';
import { buildProblem, sendProblem } from '../problem.js';
import type { ReadBudget } from '../read-budget.js';
import { parseStreamQuery } from './query-params.js';
import { readReplay } from './stream-replay.js';
import { createStreamSlots, type StreamDrop, type StreamLimits } from './stream-slots.js';

export interface StreamDeps extends StreamLimits {
  feed: AlertFeed;
  store: AlertStore;
  heartbeatMs: number;
  /** Most bytes replayed to a reconnecting client (QUERY_MAX_BYTES; at most half its buffer bound). */
  replayMaxBytes: number;
  /** The readers' budget (QUERY_MAX_INFLIGHT_BYTES) a replay holds its alerts within. */
  budget: ReadBudget;
  /** Where the stream's counters are registered. */
  registry: Registry;
}

/** The live alert stream and a way to end every open stream (on shutdown). */
export interface AlertStream {
  router: express.Router;
  closeAll(): void;
  clientCount(): number;
}

// A client with less than this waiting keeps up; only a lagging one makes the sum over all worth taking.
const LAGGING_BYTES = 64 * 1024;

/** `alert` matches the stream's filters; `other` is outside them, sent only to a client that asked (`others=true`). */
type EventKind = 'alert' | 'other';

function formatEvent(entry: StoredAlert, kind: EventKind): string {
  return `id: ${entry.id}\nevent: ${kind}\ndata: ${presentAlertJson(entry)}\n\n`;
}

const REFUSAL_DETAIL = {
  max_clients: (deps: StreamDeps) =>
    `This receiver already serves ${deps.maxClients} live streams (STREAM_MAX_CLIENTS).`,
  max_per_address: (deps: StreamDeps) =>
    `Your address already holds ${deps.maxPerAddress} live streams (STREAM_MAX_CLIENTS_PER_ADDRESS).`,
};

/** `GET /alerts/stream`: Server-Sent Events of accepted alerts, filtered like `GET /alerts`. */
export function createAlertStream(deps: StreamDeps): AlertStream {
  const router = express.Router();
  const slots = createStreamSlots(deps, deps.registry);
  // Each open stream with the functions that stop feeding it and that cut it off.
  const open = new Map<Response, { stop: () => void; drop: (reason: StreamDrop) => void }>();
  // One serialisation per published alert and kind, shared by every client.
  const caches = { alert: new WeakMap<StoredAlert, string>(), other: new WeakMap<StoredAlert, string>() };
  const eventText = (entry: StoredAlert, kind: EventKind): string => {
    let text = caches[kind].get(entry);
    if (text === undefined) {
      text = formatEvent(entry, kind);
      caches[kind].set(entry, text);
    }
    return text;
  };
  // Past the total bound the clients furthest behind are cut off first, until `bytes` more fit.
  // True when `res` itself was one of them.
  const makeRoomFor = (res: Response, bytes: number): boolean => {
    for (;;) {
      let sum = bytes;
      let furthest: Response | undefined;
      for (const each of open.keys()) {
        sum += each.writableLength;
        if (!furthest || each.writableLength > furthest.writableLength) furthest = each;
      }
      if (sum <= deps.maxBufferedBytes || !furthest) return false;
      open.get(furthest)?.drop('total_buffer');
      if (furthest === res) return true;
    }
  };

  router.get('/alerts/stream', (req, res) => {
    const parsed = parseStreamQuery(req.query);
    if (!parsed.ok) {
      sendProblem(res, parsed.problem);
      return;
    }
    // HEAD: the headers a stream would have, and no stream (nor a slot held until the client hangs up).
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
      res.end();
      return;
    }
    const address = req.socket.remoteAddress ?? '';
    const refusal = slots.take(address);
    if (refusal) {
      slots.refused(refusal);
      sendProblem(res, buildProblem('too-many-requests', { detail: REFUSAL_DETAIL[refusal](deps) }));
      return;
    }
    const { query, others } = parsed;
    // The event for `entry` on this stream, or undefined when it is not this client's.
    const eventFor = (entry: StoredAlert): string | undefined => {
      if (matchesQuery(entry, query)) return eventText(entry, 'alert');
      return others ? eventText(entry, 'other') : undefined;
    };
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });

    let unsubscribe = () => {};
    // Runs only after this handler returns, when send is defined.
    const heartbeat = setInterval(() => send(': ping\n\n'), deps.heartbeatMs);
    heartbeat.unref();
    // A stream opened with a dashboard session ends when the session does (SESSION_TTL_SECONDS):
    // the browser reconnects, and the read guard asks again.
    const expiresAt = req.access?.session?.expiresAt;
    const sessionEnd =
      expiresAt === undefined
        ? undefined
        : setTimeout(() => res.destroy(), Math.max(0, expiresAt - Date.now()));
    sessionEnd?.unref();
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(heartbeat);
      clearTimeout(sessionEnd);
      unsubscribe();
      open.delete(res);
      slots.release(address);
    };
    // A client that does not read is cut off once its bytes (or everyone's) pass a bound: buffering
    // for it would grow without bound, and a write after end would be an unhandled error.
    const drop = (reason: StreamDrop) => {
      slots.dropped(reason);
      req.log.warn({ event: 'stream_client_dropped', reason }, 'stream client too slow, closing');
      stop();
      res.destroy();
    };
    const send = (text: string): boolean => {
      if (res.writableEnded || res.destroyed) return false;
      const waiting = res.writableLength + text.length;
      if (waiting > deps.maxClientBufferedBytes) {
        drop('client_buffer');
        return false;
      }
      if (waiting > LAGGING_BYTES && makeRoomFor(res, text.length)) return false;
      res.write(text);
      return true;
    };
    res.on('error', stop);
    res.on('close', stop);
    open.set(res, { stop, drop });

    send('retry: 3000\n: connected\n\n');
    const lastId = req.headers['last-event-id'];
    if (typeof lastId !== 'string') {
      unsubscribe = deps.feed.subscribe((entry) => {
        const text = eventFor(entry);
        if (text !== undefined) send(text);
      });
      return;
    }
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
    unsubscribe = deps.feed.subscribe((entry, position) => {
      if (!isNew(position)) return;
      const text = eventFor(entry);
      if (text === undefined) return;
      if (!live) {
        send(text);
        return;
      }
      live.events.push({ position, text });
      live.bytes += text.length;
      // Held for this client as if waiting in its socket (a slow shared store, a burst): past its
      // bound it is cut off, and reconnects from its Last-Event-ID.
      if (live.bytes > deps.maxClientBufferedBytes) drop('client_buffer');
    });
    // Ends the stream with `comment`, before any live alert: the client reconnects after `retry`
    // from the same Last-Event-ID.
    const endForReconnect = (comment: string) => {
      send(comment);
      stop();
      res.end();
    };
    void readReplay({
      store: deps.store,
      budget: deps.budget,
      lastId,
      address,
      // Half the client bound: the replay must not get its own reader cut off.
      maxBytes: Math.min(deps.replayMaxBytes, deps.maxClientBufferedBytes / 2),
      eventFor,
      gone: () => stopped,
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
        req.log.warn({ err: error, event: 'stream_replay_failed' }, 'live stream replay failed');
        // Live alerts sent now would move the client's Last-Event-ID past the ones it missed: it
        // comes back after `retry` from the same id instead, as when the replay is put off.
        endForReconnect(': replay failed, reconnect\n\n');
      },
    );
  });

  return {
    router,
    closeAll() {
      for (const [res, { stop }] of open) {
        stop();
        res.end();
      }
    },
    clientCount() {
      return open.size;
    },
  };
}
