import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from '../../metrics/metrics.js';
import { FRAGMENTED_DETAIL } from '../body-pieces.js';
import { buildProblem, unsupportedMediaType, type Problem } from '../problem.js';
import { reject } from './ingest-refusal.js';

/** Maps body-reading failures (raw-body error types) to a reject reason and problem. */
export function bodyErrorHandler(metrics: Metrics, bodyLimitBytes: number) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    const type = (error as { type?: string } | null)?.type;
    if (type === 'entity.too.large') {
      const detail = `The body exceeds ${bodyLimitBytes} bytes (BODY_LIMIT_BYTES).`;
      reject(req, res, metrics, 'payload_too_large', buildProblem('payload-too-large', { detail }));
      return;
    }
    if (type === 'entity.too.fragmented') {
      const problem = buildProblem('payload-too-large', { detail: FRAGMENTED_DETAIL });
      reject(req, res, metrics, 'payload_too_large', problem);
      return;
    }
    if (type === 'encoding.unsupported') {
      const detail = 'Compressed request bodies are not accepted; Falco never compresses its uploads.';
      reject(req, res, metrics, 'unsupported_media_type', unsupportedMediaType('Content-Encoding', detail));
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
