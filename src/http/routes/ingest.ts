import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { parseFalcoAlert, type RejectReason } from '../../alerts/parse-falco-alert.js';
import type { AlertSink } from '../../alerts/alert-sink.js';
import type { StoredAlert } from '../../alerts/stored-alert.js';
import type { Metrics } from '../../metrics/metrics.js';
import { readClientIdentity, type ClientIdentity } from '../client-identity.js';
import { SHED_RETRY_AFTER_SECONDS, type InflightBodies } from '../inflight-bodies.js';
import { buildProblem, sendProblem, type Problem } from '../problem.js';
import { readCappedBody } from '../read-capped-body.js';
import { DOCUMENT_ONLY_HEADERS } from '../security-headers.js';
import type { TurnTaker } from '../turn-taker.js';

export interface IngestDeps {
  sink: AlertSink;
  metrics: Metrics;
  bodyLimitBytes: number;
  /** Shared by every ingest path, so alerts keep their arrival order and big ones yield the loop. */
  turns: TurnTaker;
  /** The budget of bodies still arriving, shared by both ingest paths. */
  inflight: InflightBodies;
}

/** Headers of a shed request: retry later, and on a new connection (the body was never read). */
export const SHED_HEADERS: Array<[string, string]> = [
  ['Retry-After', String(SHED_RETRY_AFTER_SECONDS)],
  ['Connection', 'close'],
];

// Sheds the request with a 503 before its body is read when the in-flight budget is spent.
function admitBody(deps: IngestDeps) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const problem = deps.inflight.admit(req, res, deps.bodyLimitBytes);
    if (problem === undefined) return next();
    for (const [name, value] of SHED_HEADERS) res.setHeader(name, value);
    sendProblem(res, problem);
  };
}

/** Paths Falco may post to: ours, and `/` for URLs written for falcosidekick. */
export const INGEST_PATHS = ['/alerts', '/'];

const JSON_OUTPUT_HINT =
  'Falco sends text/plain when json_output is false. Set json_output: true (chart value falco.json_output) so it posts JSON.';

/**
 * The request's logger with the caller's address: a refused body may have no readable hostname,
 * and the address is what names the Falco sensor to fix. (The fast path binds it the same way.)
 */
export function ingestLog(req: Request): Logger {
  return req.log.child({ caller: req.socket.remoteAddress });
}

/** Counts and logs a refused ingest request; returns the problem to answer with. */
export function refuse(log: Logger, metrics: Metrics, reason: RejectReason, problem: Problem): Problem {
  metrics.recordRejected(reason);
  log.warn(
    { event: 'alert_rejected', reason, status: problem.status, errors: problem.errors },
    'alert rejected',
  );
  return problem;
}

// The most of a refused path a log line keeps (a URL may be 16 KiB).
const LOGGED_PATH_CHARS = 200;

/**
 * A POST to a path that is not an ingest path, where ingest is served: most likely Falco with a
 * wrong `http_output.url`, whose every alert would otherwise be lost unseen (Falco ignores the
 * answer). Counted and logged like any refused alert, with the path as a value, cut, and without
 * `pathSecret` (INGEST_PATH_SECRET), which a wrong URL such as `//alerts/<secret>` still holds.
 * Answered 404, or with `problem` (the 405 of a path that serves other methods, e.g. `/alerts/{id}`).
 */
export function refuseUnknownPath(
  req: Request,
  res: Response,
  metrics: Metrics,
  options: { pathSecret?: string; problem?: Problem } = {},
): void {
  const { pathSecret } = options;
  const shown = pathSecret === undefined ? req.path : req.path.replaceAll(pathSecret, '[redacted]');
  const path = shown.slice(0, LOGGED_PATH_CHARS);
  // With a path secret, /alerts and / answer 401.
  const ingestPathHint = pathSecret === undefined ? '/alerts (or /)' : '/alerts/<INGEST_PATH_SECRET>';
  const problem =
    options.problem ??
    buildProblem('not-found', {
      detail: `No route for POST ${req.path}. Falco's http_output.url must end in ${ingestPathHint}.`,
    });
  sendProblem(res, refuse(ingestLog(req).child({ path }), metrics, 'unknown_path', problem));
}

function reject(req: Request, res: Response, metrics: Metrics, reason: RejectReason, problem: Problem): void {
  sendProblem(res, refuse(ingestLog(req), metrics, reason, problem));
}

// ASCII is a subset of UTF-8, so a body declared as either is read correctly.
const UTF8_COMPATIBLE = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

/**
 * Why a Content-Type cannot carry a Falco JSON alert, or undefined when it can. Falco always sends
 * application/json; curl -d sends form-urlencoded, so only text and multipart are refused.
 */
export function mediaTypeProblem(contentType: string | undefined): string | undefined {
  // What Falco sends, checked on every alert: no lower-casing, splitting or regular expression.
  if (contentType === 'application/json') return undefined;
  const header = (contentType ?? '').toLowerCase();
  const type = header.split(';')[0]?.trim() ?? '';
  if (type.startsWith('text/') || type.startsWith('multipart/'))
    return `Content-Type ${type} is not JSON. ${type === 'text/plain' ? JSON_OUTPUT_HINT : 'Send application/json.'}`;
  // Bodies are read as UTF-8 (JSON's only interchange encoding); another declared charset would be misread.
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/.exec(header)?.[1];
  if (charset !== undefined && !UTF8_COMPATIBLE.has(charset))
    return `charset=${charset.slice(0, 40)} is not supported; send UTF-8 JSON.`;
  return undefined;
}

function checkMediaType(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const detail = mediaTypeProblem(req.headers['content-type']);
    if (detail === undefined) return next();
    reject(req, res, metrics, 'unsupported_media_type', buildProblem('unsupported-media-type', { detail }));
  };
}

/** Maps body-reading failures (raw-body error types) to a reject reason and problem. */
function bodyErrorHandler(metrics: Metrics, bodyLimitBytes: number) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    const type = (error as { type?: string } | null)?.type;
    if (type === 'entity.too.large') {
      // The rest of the body is never read: close the connection instead of draining it.
      res.setHeader('Connection', 'close');
      const detail = `The body exceeds ${bodyLimitBytes} bytes (BODY_LIMIT_BYTES).`;
      reject(req, res, metrics, 'payload_too_large', buildProblem('payload-too-large', { detail }));
      return;
    }
    if (type === 'encoding.unsupported') {
      const detail = 'Compressed request bodies are not accepted; Falco never compresses its uploads.';
      reject(req, res, metrics, 'unsupported_media_type', buildProblem('unsupported-media-type', { detail }));
      return;
    }
    if (type === 'request.aborted' || type === 'request.size.invalid') {
      reject(req, res, metrics, 'incomplete_body', incompleteBody());
      return;
    }
    next(error);
  };
}

/** The problem for a body that ended before its declared length. */
export function incompleteBody(): Problem {
  return buildProblem('invalid-request', { detail: 'The body ended before its declared length.' });
}

/** What one ingest request is answered with: the accepted alert, or a problem. */
export type IngestAnswer = { accepted: StoredAlert } | { problem: Problem };

export interface IngestRequest {
  body: Buffer;
  reqId: string;
  client?: ClientIdentity;
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
  const accepted = deps.sink.accept(result.alert, {
    bytes: body.length,
    reqId: request.reqId,
    client: request.client,
    json: text,
  });
  return { accepted };
}

/** Header that names an accepted alert's id (also in `Location`), so no body is needed. */
export const ALERT_ID_HEADER = 'X-Alert-Id';

/**
 * True when a `Prefer` header (RFC 7240) asks for `return=representation`. Falco never asks: 0.34
 * hands every response body to libcurl's default writer, which prints it into Falco's own log.
 */
export function prefersRepresentation(prefer: string | string[] | undefined): boolean {
  // Falco sends no Prefer: the common case costs no split and no regular expression.
  if (prefer === undefined) return false;
  const values = Array.isArray(prefer) ? prefer : [prefer ?? ''];
  return values
    .flatMap((value) => value.split(','))
    .some((preference) => {
      const [token = ''] = preference.split(';');
      return /^\s*return\s*=\s*"?representation"?\s*$/i.test(token);
    });
}

/** How an accepted alert is answered (202): flat header pairs, and a JSON body only when asked for. */
export interface AcceptedAnswer {
  headers: string[];
  body?: string;
}

/** The 202 of an accepted alert: `Location` and its id header; `{id, receivedAt}` only on request. */
export function acceptedResponse(entry: StoredAlert, prefer: string | string[] | undefined): AcceptedAnswer {
  const headers = ['Location', `/alerts/${entry.id}`, ALERT_ID_HEADER, entry.id];
  if (!prefersRepresentation(prefer)) return { headers };
  headers.push('Preference-Applied', 'return=representation');
  return { headers, body: JSON.stringify({ id: entry.id, receivedAt: entry.receivedAt }) };
}

/**
 * `POST /alerts` (and `POST /`) through Express: validate, then store, count, log and publish one
 * Falco alert. Most alerts take the node:http fast path (fast-ingest.ts) and never get here; this
 * route serves the rest (chunked or oversized bodies, compressed or non-JSON ones, ingest auth).
 */
export function createIngestRouter(deps: IngestDeps): express.Router {
  const router = express.Router();
  const readBody = readCappedBody(deps.bodyLimitBytes);

  router.post(INGEST_PATHS, checkMediaType(deps.metrics), admitBody(deps), readBody, (req, res, next) => {
    const body: unknown = req.body;
    deps.turns.run(() => {
      try {
        const answer = ingestBody(deps, {
          body: Buffer.isBuffer(body) ? body : Buffer.alloc(0),
          reqId: req.id,
          client: readClientIdentity(req.socket),
          log: () => ingestLog(req),
        });
        if ('problem' in answer) return sendProblem(res, answer.problem);
        const entry = answer.accepted;
        // Group commit: answered once this turn's alert lines are written.
        deps.turns.afterCommit((writeError) => {
          if (writeError !== undefined) return next(writeError);
          const accepted = acceptedResponse(entry, req.headers.prefer);
          for (let i = 0; i < accepted.headers.length; i += 2)
            res.setHeader(accepted.headers[i]!, accepted.headers[i + 1]!);
          if (accepted.body === undefined) {
            // No body: the same lean answer as the fast path's (security-headers.ts).
            for (const name of DOCUMENT_ONLY_HEADERS) res.removeHeader(name);
            res.status(202).end();
          } else res.status(202).type('application/json').send(accepted.body);
        });
      } catch (error) {
        next(error);
      }
    });
  });
  router.use(INGEST_PATHS, bodyErrorHandler(deps.metrics, deps.bodyLimitBytes));
  return router;
}
