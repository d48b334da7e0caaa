import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { closesIfLast } from '../server/close-after-answer.js';
import type { Lifecycle } from '../server/lifecycle.js';
import { tooFragmented } from './body-pieces.js';
import { fragmentedProblem } from './body-refusal.js';
import { readClientIdentity } from './client-identity.js';
import { buildProblem, problemBody, type Problem } from './problem.js';
import type { RequestIds } from './request-context.js';
import { acceptedResponse } from './routes/accepted-response.js';
import { SHED_HEADERS } from './routes/admit-body.js';
import { INGEST_PATHS } from './routes/ingest.js';
import { ingestBody, type IngestAnswer, type IngestDeps } from './routes/ingest-body.js';
import { incompleteBody } from './routes/ingest-body-errors.js';
import { isIdentityCoding, mediaTypeProblem } from './routes/ingest-media-type.js';
import { refuse } from './routes/ingest-refusal.js';
import { BODILESS_ANSWER_HEADERS, SECURITY_HEADERS } from './security-headers.js';
import { callerAddress } from '../logging/caller-address.js';

export interface FastIngestDeps extends IngestDeps {
  logger: Logger;
  lifecycle: Lifecycle;
  requestIdOf: RequestIds;
}

const SECURITY_HEADER_LIST = SECURITY_HEADERS.flat();
const BODILESS_HEADER_LIST = BODILESS_ANSWER_HEADERS.flat();
const JSON_TYPE = 'application/json; charset=utf-8';
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

/**
 * True for the request Falco sends: `POST /alerts` (or `/`) with a Content-Length within the
 * limit, no content coding, no Origin and a JSON-compatible Content-Type. Anything else (chunked, oversized,
 * compressed or text bodies, query strings) is Express's to answer, with the same problems as ever.
 */
export function isPlainAlertPost(req: IncomingMessage, bodyLimitBytes: number): boolean {
  if (req.method !== 'POST' || !INGEST_PATHS.includes(req.url ?? '')) return false;
  const { headers } = req;
  // Falco sends no Origin: a request with one comes from a browser, and Express checks it.
  if (headers.origin !== undefined) return false;
  const length = headers['content-length'];
  if (length === undefined || headers['transfer-encoding'] !== undefined) return false;
  if (!(Number(length) <= bodyLimitBytes)) return false;
  if (!isIdentityCoding(headers['content-encoding'])) return false;
  return mediaTypeProblem(headers['content-type']) === undefined;
}

function send(
  res: ServerResponse,
  lifecycle: Lifecycle,
  close: boolean,
  status: number,
  headers: string[],
  content?: { type: string; body: string },
): void {
  if (res.destroyed) return;
  if (content) {
    headers.push(...SECURITY_HEADER_LIST, 'Content-Length', String(Buffer.byteLength(content.body)));
    headers.push('Content-Type', content.type);
  } else headers.push(...BODILESS_HEADER_LIST, 'Content-Length', '0');
  // A sender that opens a connection per alert has its connection closed here (one-shot-senders.ts);
  // while shutting down, keep-alive clients (Falco 0.36+) are told to reconnect elsewhere. Not with
  // a request read behind this one: it may have been acted on, and is answered (closesIfLast).
  if ((close || !lifecycle.isReady()) && closesIfLast(res)) headers.push('Connection', 'close');
  res.writeHead(status, headers).end(content?.body);
}

function sendProblem(
  res: ServerResponse,
  deps: FastIngestDeps,
  close: boolean,
  reqId: string,
  problem: Problem,
  headers: string[] = [],
): void {
  send(res, deps.lifecycle, close, problem.status, ['X-Request-Id', reqId, ...headers], {
    type: PROBLEM_TYPE,
    body: problemBody(problem),
  });
}

/**
 * Serves Falco's `POST /alerts` on node:http itself, in front of `app` (Express), which gets every
 * other request. Express's router, response helpers and per-request middleware cost more than the
 * whole request of a bare node:http server, and this is the one path Falco calls hundreds of
 * times a second per node. It does what the Express route does, with the same shared parts:
 * request id, security headers, request histogram, the shared turn queue, ingestBody (parse,
 * validate, store, count, log, publish) and the same answers, closing the connection after the
 * answer for a sender that opens one per alert (one-shot-senders.ts). With ingest auth on (mTLS or a
 * secret path) every request goes through Express, where the auth middleware runs.
 */
export function withFastIngest(
  app: RequestListener,
  deps: FastIngestDeps,
  enabled: boolean,
): RequestListener {
  if (!enabled) return app;
  return (req, res) => {
    if (!isPlainAlertPost(req, deps.bodyLimitBytes)) return app(req, res);
    deps.senders.arrive(req.socket);
    // While draining, as closeWhenDraining: this answer closes, and nothing behind it is routed.
    if (!deps.lifecycle.isReady()) closesIfLast(res);
    const started = performance.now();
    const reqId = deps.requestIdOf(req);
    const route = req.url ?? '';
    let log: Logger | undefined;
    // The caller's address names the sensor whose refused body has no readable hostname.
    const requestLog = () =>
      (log ??= deps.logger.child({ reqId, caller: callerAddress(req.socket.remoteAddress) }));
    // The body was read to its end (or will never be: shed).
    let ended = false;
    const shed = deps.inflight.reserve(req, deps.bodyLimitBytes);
    // One listener for all of this request's bookkeeping: it is the one per-request cost Express
    // would not add, and a connection per alert (Falco 0.34) pays it on every alert.
    res.on('close', () => {
      if (shed === undefined) deps.inflight.release(req, deps.bodyLimitBytes);
      const incomplete = !ended;
      // The client went away before the declared length: counted as Express's path counts it.
      if (!ended) {
        ended = true;
        refuse(requestLog(), deps.metrics, 'incomplete_body', incompleteBody());
      }
      // A body cut short is timed as the 400 its refusal is counted as.
      const status = incomplete && !res.headersSent ? 400 : res.statusCode;
      deps.metrics.observeRequest('POST', route, status, (performance.now() - started) / 1000);
    });
    if (shed) {
      ended = true;
      // Answered at once, its body unread: the connection closes, and nothing behind it is routed.
      return sendProblem(res, deps, true, reqId, shed, SHED_HEADERS.flat());
    }

    const chunks: Buffer[] = [];
    let size = 0;
    // Each read of the socket is a piece held until the end: a body trickled a byte a read, from
    // 60 connections, took RSS from 100 to 280 MB in 29 s. Refused as a chunked one is (body-pieces.ts),
    // counted by what is held: nothing more is allocated per request.
    const take = (chunk: Buffer) => {
      if (!tooFragmented(chunks.length + 1, size + chunk.length)) {
        chunks.push(chunk);
        size += chunk.length;
        return;
      }
      ended = true;
      req.off('data', take);
      chunks.length = 0;
      const problem = fragmentedProblem();
      refuse(requestLog(), deps.metrics, 'payload_too_large', problem);
      // Answered while the rest arrives: the connection closes, and nothing behind it is routed.
      sendProblem(res, deps, true, reqId, problem);
    };
    req.on('data', take);
    req.on('end', () => {
      if (ended) return;
      ended = true;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      deps.turns.run(() => {
        let answer: IngestAnswer;
        try {
          answer = ingestBody(deps, {
            body,
            reqId,
            client: readClientIdentity(req.socket),
            address: req.socket.remoteAddress ?? '',
            log: requestLog,
          });
        } catch (error) {
          requestLog().error({ err: error }, 'unhandled error');
          return sendProblem(res, deps, false, reqId, buildProblem('internal-error'));
        }
        if ('problem' in answer)
          return sendProblem(
            res,
            deps,
            deps.senders.closes(req.socket),
            reqId,
            answer.problem,
            answer.headers?.flat(),
          );
        const entry = answer.accepted;
        // Group commit: answered once this turn's alert lines are written.
        deps.turns.afterCommit((writeError) => {
          if (writeError !== undefined) {
            requestLog().error({ err: writeError }, 'unhandled error');
            return sendProblem(res, deps, false, reqId, buildProblem('internal-error'));
          }
          const accepted = acceptedResponse(entry, req.headers.prefer);
          const content = accepted.body === undefined ? undefined : { type: JSON_TYPE, body: accepted.body };
          send(
            res,
            deps.lifecycle,
            deps.senders.closes(req.socket),
            202,
            ['X-Request-Id', reqId, ...accepted.headers],
            content,
          );
        });
      });
    });
    // No 'aborted' or 'error' listener: a request whose client goes away closes its response (above),
    // and Node emits a request's 'error' only to listeners.
  };
}
