import express, { type Response } from 'express';
import type { AlertFeed } from '../../alerts/alert-feed.js';
import type { AlertQuery, AlertStore } from '../../alerts/alert-store.js';
import { matchesQuery } from '../../alerts/match-alert.js';
import { presentAlert, toJson } from '../../alerts/serialize-alert.js';
import type { StoredAlert } from '../../alerts/stored-alert.js';
import { buildProblem, sendProblem } from '../problem.js';
import { parseAlertQuery } from './query-params.js';

export interface StreamDeps {
  feed: AlertFeed;
  store: AlertStore;
  heartbeatMs: number;
  /** Most concurrent stream clients; more get 429. */
  maxClients: number;
}

/** The live alert stream and a way to end every open stream (on shutdown). */
export interface AlertStream {
  router: express.Router;
  closeAll(): void;
  clientCount(): number;
}

// A client this far behind is cut off rather than buffered without bound.
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
// Most alerts replayed to a reconnecting client.
const MAX_REPLAY = 1000;

function formatEvent(entry: StoredAlert): string {
  return `id: ${entry.id}\nevent: alert\ndata: ${toJson(presentAlert(entry))}\n\n`;
}

/** `GET /alerts/stream`: Server-Sent Events of accepted alerts, filtered like `GET /alerts`. */
export function createAlertStream(deps: StreamDeps): AlertStream {
  const router = express.Router();
  // Each open stream with the function that stops feeding it.
  const open = new Map<Response, () => void>();
  // One serialisation per alert, shared by every client.
  const cache = new WeakMap<StoredAlert, string>();
  const eventText = (entry: StoredAlert): string => {
    let text = cache.get(entry);
    if (text === undefined) {
      text = formatEvent(entry);
      cache.set(entry, text);
    }
    return text;
  };

  router.get('/alerts/stream', (req, res) => {
    const parsed = parseAlertQuery(req.query);
    if (!parsed.ok) {
      sendProblem(res, parsed.problem);
      return;
    }
    if (open.size >= deps.maxClients) {
      const detail = `This receiver already serves ${deps.maxClients} live streams (STREAM_MAX_CLIENTS).`;
      sendProblem(res, buildProblem('too-many-requests', { detail }));
      return;
    }
    const { query } = parsed;
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
    const stop = () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(res);
    };
    // A client that does not read is cut off at once: buffering for it would grow without bound,
    // and a write after end would be an unhandled error.
    const send = (text: string): boolean => {
      if (res.writableEnded || res.destroyed) return false;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        req.log.warn({ event: 'stream_client_dropped' }, 'stream client too slow, closing');
        stop();
        res.destroy();
        return false;
      }
      res.write(text);
      return true;
    };
    res.on('error', stop);
    res.on('close', stop);
    open.set(res, stop);

    send('retry: 3000\n: connected\n\n');
    const lastId = req.headers['last-event-id'];
    if (typeof lastId !== 'string') {
      unsubscribe = deps.feed.subscribe((entry) => {
        if (matchesQuery(entry, query)) send(eventText(entry));
      });
      return;
    }
    // Replay what a reconnecting client missed (bounded). Alerts arriving while the store answers
    // wait in `live` and are sent after the replay, each once.
    let live: StoredAlert[] | undefined = [];
    unsubscribe = deps.feed.subscribe((entry) => {
      if (!matchesQuery(entry, query)) return;
      if (live) live.push(entry);
      else send(eventText(entry));
    });
    void replay(lastId, query).then(
      (missed) => {
        const sent = new Set(missed.map((entry) => entry.id));
        for (const entry of missed) if (!send(eventText(entry))) return;
        for (const entry of live ?? []) if (!sent.has(entry.id) && !send(eventText(entry))) return;
        live = undefined;
      },
      (error: unknown) => {
        req.log.warn({ err: error, event: 'stream_replay_failed' }, 'live stream replay failed');
        for (const entry of live ?? []) send(eventText(entry));
        live = undefined;
      },
    );
  });

  async function replay(lastId: string, query: Omit<AlertQuery, 'limit'>): Promise<StoredAlert[]> {
    const newer = (await deps.store.after(lastId, MAX_REPLAY)) ?? [];
    return newer.filter((entry) => matchesQuery(entry, query));
  }

  return {
    router,
    closeAll() {
      for (const [res, stop] of open) {
        stop();
        res.end();
      }
    },
    clientCount() {
      return open.size;
    },
  };
}
