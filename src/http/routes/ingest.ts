import express from 'express';
import { closeIfLast } from '../../server/close-after-answer.js';
import { readClientIdentity } from '../client-identity.js';
import { sendProblem } from '../problem.js';
import { readCappedBody } from '../read-capped-body.js';
import { DOCUMENT_ONLY_HEADERS } from '../security-headers.js';
import { acceptedResponse } from './accepted-response.js';
import { admitBody } from './admit-body.js';
import { ingestBody, type IngestDeps } from './ingest-body.js';
import { bodyErrorHandler } from './ingest-body-errors.js';
import { checkMediaType, refuseTextAlert } from './ingest-media-type.js';
import { ingestLog } from './ingest-refusal.js';

/** Paths Falco may post to: ours, and `/` for URLs written for falcosidekick. */
export const INGEST_PATHS = ['/alerts', '/'];

/**
 * `POST /alerts` (and `POST /`) through Express: validate, then store, count, log and publish one
 * Falco alert. Most alerts take the node:http fast path (fast-ingest.ts) and never get here; this
 * route serves the rest (chunked or oversized bodies, compressed or non-JSON ones, ingest auth).
 */
export function createIngestRouter(deps: IngestDeps): express.Router {
  const router = express.Router();
  const readBody = readCappedBody(deps.bodyLimitBytes);

  // First of all, the request is counted on its connection (one-shot-senders.ts); an accepted alert
  // from a sender with a connection per alert then has its connection closed after the answer.
  const countRequest: express.RequestHandler = (req, _res, next) => {
    deps.senders.arrive(req.socket);
    next();
  };

  router.post(
    INGEST_PATHS,
    countRequest,
    checkMediaType(deps.metrics),
    admitBody(deps),
    readBody,
    refuseTextAlert(deps.metrics),
    (req: express.Request, res: express.Response, next: express.NextFunction) => {
      const body: unknown = req.body;
      deps.turns.run(() => {
        try {
          const answer = ingestBody(deps, {
            body: Buffer.isBuffer(body) ? body : Buffer.alloc(0),
            reqId: req.id,
            client: readClientIdentity(req.socket),
            address: req.socket.remoteAddress ?? '',
            log: () => ingestLog(req),
          });
          if ('problem' in answer) {
            for (const [name, value] of answer.headers ?? []) res.setHeader(name, value);
            return sendProblem(res, answer.problem);
          }
          const entry = answer.accepted;
          // Group commit: answered once this turn's alert lines are written.
          deps.turns.afterCommit((writeError) => {
            if (writeError !== undefined) return next(writeError);
            const accepted = acceptedResponse(entry, req.headers.prefer);
            if (deps.senders.closes(req.socket)) closeIfLast(res);
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
    },
    // On the route itself, not `router.use(INGEST_PATHS, ...)`: there Express strips the path into
    // baseUrl, and the request histogram timed a refused body under `/alerts/` (and `//`).
    bodyErrorHandler(deps.metrics, deps.bodyLimitBytes),
  );
  return router;
}
