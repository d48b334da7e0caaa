import express from 'express';
import type { Registry } from 'prom-client';
import type { AlertFeed } from '../../alerts/alert-feed.js';
import type { AlertStore } from '../../alerts/alert-store.js';
import { matchesQuery } from '../../alerts/match-alert.js';
import type { StoredAlert } from '../../alerts/stored-alert.js';
import { buildProblem, sendProblem } from '../problem.js';
import type { ReadBudget } from '../read-budget.js';
import { parseStreamQuery } from './query-params.js';
import { createStreamClients } from './stream-clients.js';
import { openStreamConnection } from './stream-connection.js';
import { createEventText } from './stream-event.js';
import { resumeStream } from './stream-resume.js';
import { createStreamSlots, type StreamLimits } from './stream-slots.js';
import { LIVE_GAP } from './stream-truncated.js';

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
  const clients = createStreamClients(deps);
  const eventText = createEventText();

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
    const connection = openStreamConnection(req, res, { limits: deps, address, slots, clients });

    connection.send('retry: 3000\n: connected\n\n');
    const lastId = req.headers['last-event-id'];
    if (typeof lastId !== 'string') {
      connection.setUnsubscribe(
        deps.feed.subscribe(
          (entry) => {
            const text = eventFor(entry);
            if (text !== undefined) connection.send(text);
          },
          // Whatever its filters: whether the missing alerts were the client's is unknown.
          () => connection.send(LIVE_GAP),
        ),
      );
      return;
    }
    resumeStream(connection, { ...deps, lastId, address, eventFor, log: req.log });
  });

  return {
    router,
    closeAll: clients.closeAll,
    clientCount: clients.count,
  };
}
