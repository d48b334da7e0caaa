import express, { type NextFunction, type Request, type Response } from 'express';
import { parseFalcoAlert, type RejectReason } from '../../alerts/parse-falco-alert.js';
import type { AlertSink } from '../../alerts/alert-sink.js';
import type { Metrics } from '../../metrics/metrics.js';
import { readClientIdentity } from '../client-identity.js';
import { createTurnTaker } from '../one-per-turn.js';
import { buildProblem, sendProblem, type Problem } from '../problem.js';
import { readCappedBody } from '../read-capped-body.js';

export interface IngestDeps {
  sink: AlertSink;
  metrics: Metrics;
  bodyLimitBytes: number;
}

/** Paths Falco may post to: ours, and `/` for URLs written for falcosidekick. */
export const INGEST_PATHS = ['/alerts', '/'];

const JSON_OUTPUT_HINT =
  'Falco sends text/plain when json_output is false. Set json_output: true (chart value falco.json_output) so it posts JSON.';

function reject(req: Request, res: Response, metrics: Metrics, reason: RejectReason, problem: Problem): void {
  metrics.recordRejected(reason);
  req.log.warn(
    { event: 'alert_rejected', reason, status: problem.status, errors: problem.errors },
    'alert rejected',
  );
  sendProblem(res, problem);
}

// ASCII is a subset of UTF-8, so a body declared as either is read correctly.
const UTF8_COMPATIBLE = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

// Falco always sends application/json; curl -d sends form-urlencoded, so only text and multipart are refused.
function checkMediaType(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = (req.headers['content-type'] ?? '').toLowerCase();
    const type = header.split(';')[0]?.trim() ?? '';
    if (type.startsWith('text/') || type.startsWith('multipart/')) {
      const detail = `Content-Type ${type} is not JSON. ${type === 'text/plain' ? JSON_OUTPUT_HINT : 'Send application/json.'}`;
      reject(req, res, metrics, 'unsupported_media_type', buildProblem('unsupported-media-type', { detail }));
      return;
    }
    // Bodies are read as UTF-8 (JSON's only interchange encoding); another declared charset would be misread.
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/.exec(header)?.[1];
    if (charset !== undefined && !UTF8_COMPATIBLE.has(charset)) {
      const detail = `charset=${charset.slice(0, 40)} is not supported; send UTF-8 JSON.`;
      reject(req, res, metrics, 'unsupported_media_type', buildProblem('unsupported-media-type', { detail }));
      return;
    }
    next();
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
      const detail = 'The body ended before its declared length.';
      reject(req, res, metrics, 'incomplete_body', buildProblem('invalid-request', { detail }));
      return;
    }
    next(error);
  };
}

/** `POST /alerts` (and `POST /`): validate, then store, count, log and publish one Falco alert. */
export function createIngestRouter(deps: IngestDeps): express.Router {
  const router = express.Router();
  const readBody = readCappedBody(deps.bodyLimitBytes);
  const turns = createTurnTaker();

  router.post(INGEST_PATHS, checkMediaType(deps.metrics), readBody, async (req: Request, res: Response) => {
    await turns.next();
    const body: unknown = req.body;
    const buffer = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
    // Invalid UTF-8 (Falco 0.34 copies raw bytes) decodes to U+FFFD instead of failing.
    const result = parseFalcoAlert(buffer.toString('utf8'));
    if (!result.ok) {
      const type =
        result.reason === 'invalid_alert' || result.reason === 'forbidden_key'
          ? 'invalid-alert'
          : 'malformed-json';
      const detail = buffer.length === 0 ? 'The body is empty.' : result.detail;
      reject(req, res, deps.metrics, result.reason, buildProblem(type, { detail, errors: result.problems }));
      return;
    }
    const entry = deps.sink.accept(result.alert, {
      bytes: buffer.length,
      reqId: req.id,
      client: readClientIdentity(req.socket),
    });
    res.status(202).location(`/alerts/${entry.id}`).json({ id: entry.id, receivedAt: entry.receivedAt });
  });
  router.use(INGEST_PATHS, bodyErrorHandler(deps.metrics, deps.bodyLimitBytes));
  return router;
}
