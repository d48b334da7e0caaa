import { buildProblem, unsupportedMediaType, type Problem } from './problem.js';

/**
 * The problem for an error body-parser (`express.json`) raised while reading a request body, by
 * its `type`: the status that says why (413, 415, 400), not a bare 400. Undefined for any other error.
 */
export function bodyRefusal(error: unknown, limit: string): Problem | undefined {
  switch ((error as { type?: unknown } | null)?.type) {
    case 'entity.too.large':
      return buildProblem('payload-too-large', { detail: `The request body is at most ${limit}.` });
    case 'charset.unsupported':
      return unsupportedMediaType('Content-Type', 'Send the body as application/json in UTF-8.');
    case 'encoding.unsupported':
      return unsupportedMediaType('Content-Encoding', 'Send the body without a content coding.');
    case 'entity.parse.failed':
      return buildProblem('malformed-json', { detail: 'The body is not a JSON object.' });
    default:
      return undefined;
  }
}
