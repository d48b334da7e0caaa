import { FRAGMENTED_DETAIL } from './body-pieces.js';
import { buildProblem, unsupportedMediaType, type Problem } from './problem.js';
import type { JsonBodyFailure } from './read-json-body.js';

/** The 413 for a body in pieces too small (body-pieces.ts), on either ingest path. */
export const fragmentedProblem = (): Problem =>
  buildProblem('payload-too-large', { detail: FRAGMENTED_DETAIL });

/**
 * The problem for an error a body reader (readJsonBody, raw-body's) raised while reading a request
 * body, by its `type`: the status that says why (413, 415, 400), not a bare 400. A body that is not
 * JSON, or repeats a key, is named where it goes wrong, as ingest names it. Undefined for any other error.
 */
export function bodyRefusal(error: unknown, limit: string): Problem | undefined {
  switch ((error as { type?: unknown } | null)?.type) {
    case 'entity.too.large':
      return buildProblem('payload-too-large', { detail: `The request body is at most ${limit}.` });
    case 'entity.too.fragmented':
      return fragmentedProblem();
    case 'charset.unsupported':
      // readJsonBody's error says which charset (charsetProblem).
      return unsupportedMediaType('Content-Type', (error as Error).message);
    case 'encoding.unsupported':
      return unsupportedMediaType('Content-Encoding', 'Send the body without a content coding.');
    case 'entity.parse.failed': {
      const { message: detail, pointer } = error as JsonBodyFailure;
      return buildProblem('malformed-json', { detail, errors: [{ pointer, detail }] });
    }
    default:
      return undefined;
  }
}
