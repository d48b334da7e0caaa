import type { Logger } from 'pino';
import { parseFalcoAlert } from '../../alerts/parse-falco-alert.js';
import { verbatimJson, type AlertSink } from '../../alerts/alert-sink.js';
import type { StoredAlert } from '../../alerts/stored-alert.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { ClientIdentity } from '../client-identity.js';
import type { InflightBodies } from '../inflight-bodies.js';
import type { OneShotSenders } from '../one-shot-senders.js';
import { buildProblem, type Problem } from '../problem.js';
import type { TurnTaker } from '../turn-taker.js';
import { SHED_HEADERS } from './admit-body.js';
import { refuse } from './ingest-refusal.js';

export interface IngestDeps {
  sink: AlertSink;
  metrics: Metrics;
  bodyLimitBytes: number;
  /** Shared by every ingest path, so alerts keep their arrival order and big ones yield the loop. */
  turns: TurnTaker;
  /** The budget of bodies still arriving, shared by both ingest paths. */
  inflight: InflightBodies;
  /** Which senders open a connection per alert, and get it closed after the answer; shared by both paths. */
  senders: OneShotSenders;
}

/** What one ingest request is answered with: the accepted alert, or a problem (with more headers). */
export type IngestAnswer =
  { accepted: StoredAlert } | { problem: Problem; headers?: Array<[string, string]> };

export interface IngestRequest {
  body: Buffer;
  reqId: string;
  client?: ClientIdentity;
  /** The client's address: the caller of a shed's log line. */
  address: string;
  /** The request's logger, made only when a refusal is logged. */
  log: () => Logger;
}

/** Parses, validates and accepts (or refuses, counted and logged) one alert body. */
export function ingestBody(deps: IngestDeps, request: IngestRequest): IngestAnswer {
  const { body } = request;
  // Invalid UTF-8 (Falco 0.34 copies raw bytes) decodes to U+FFFD instead of failing.
  const text = body.toString('utf8');
  const result = parseFalcoAlert(text);
  if (!result.ok) {
    const type =
      result.reason === 'invalid_alert' || result.reason === 'forbidden_key'
        ? 'invalid-alert'
        : 'malformed-json';
    const detail = body.length === 0 ? 'The body is empty.' : result.detail;
    const problem = buildProblem(type, { detail, errors: result.problems });
    return { problem: refuse(request.log(), deps.metrics, result.reason, problem) };
  }
  // Not accepted (no line, not counted as an alert) while taking it would drop a queued alert whose
  // answer waits for Redis: shed as the in-flight bounds shed, and the sender told to retry.
  if (deps.sink.admits?.(body.length, result.alert) === false)
    return { problem: deps.inflight.shed('store_pending_full', request.address), headers: SHED_HEADERS };
  // A number beyond a double's range is written as null in the text that is logged and stored.
  const json = result.text ?? text;
  const accepted = deps.sink.accept(result.alert, {
    bytes: body.length,
    reqId: request.reqId,
    client: request.client,
    json,
    jsonBytes: json === text ? verbatimJson(body) : undefined,
  });
  return { accepted };
}
