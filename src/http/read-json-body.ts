import type { NextFunction, Request, Response } from 'express';
import { parseJson } from '../alerts/parse-json.js';
import { readCappedBody } from './read-capped-body.js';
import { refuseRest } from './refuse-rest.js';
import { charsetProblem } from './routes/ingest-media-type.js';

/** A request body is present when it is chunked or declares a length above zero (RFC 9112, section 6.3). */
export function carriesBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Why a JSON body was refused, as the error `readJsonBody` passes on (body-parser's type, so
 * bodyRefusal answers it): where the text goes wrong, as a JSON pointer, and what is wrong there.
 */
export interface JsonBodyFailure extends Error {
  status: 400;
  type: 'entity.parse.failed';
  pointer: string;
}

const bodyFailure = (message: string, pointer: string): JsonBodyFailure =>
  Object.assign(new Error(message), { status: 400 as const, type: 'entity.parse.failed' as const, pointer });

// UTF-8 alone, as ingest reads its bodies: another charset would be misread (express.json decoded
// utf-16 itself, and a UTF-8 body a client had mislabelled so was answered "not a JSON object").
// Also a body of another media type where JSON is required. bodyRefusal answers it 415 naming
// Content-Type, with this detail.
const refusedContentType = (detail: string) =>
  Object.assign(new Error(detail), { status: 415, type: 'charset.unsupported' });

export interface ReadJsonBodyOptions {
  /**
   * Where a body of another media type is refused (415) rather than passed on unread: a trigger
   * call's body would go unread and its run start with "all defaults".
   */
  requireJson?: (req: Request) => boolean;
}

/**
 * Reads an `application/json` request body of at most `limit` into `req.body` with the parser
 * ingest uses (parseJson), in place of `express.json`: a repeated key is refused and named, as
 * ingest refuses it, where JSON.parse kept the last copy, so a proxy that checked the first one
 * saw another body than the route acted on. Like express.json it reads no other media type and
 * takes an empty body as `{}`; unlike it, it stops at the cap (readCappedBody), takes only UTF-8
 * and no content coding but identity, and passes on failures with body-parser's error types.
 * A refused body is never read: closed while it arrives (refuseRest).
 */
export function readJsonBody(limit: string, options: ReadJsonBodyOptions = {}) {
  const readBody = readCappedBody(limit);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!carriesBody(req)) return next();
    const json = typeof req.is('application/json') === 'string';
    const refused = json
      ? charsetProblem(req.headers['content-type'])
      : options.requireJson?.(req) === true
        ? 'Send the body as application/json.'
        : undefined;
    if (refused !== undefined) {
      refuseRest(req, res);
      return next(refusedContentType(refused));
    }
    // As express.json: a request that can give no more (its client half-closed, or its body was
    // taken) is passed on unread, and requireReadBody says so rather than guess.
    if (!json || !req.socket.readable || !req.readable) return next();
    readBody(req, res, (error?: unknown) => {
      if (error !== undefined) return next(error);
      const text = (req.body as Buffer).toString('utf8');
      if (text === '') {
        req.body = {};
        return next();
      }
      const parsed = parseJson(text);
      if (!parsed.ok) return next(bodyFailure(parsed.message, parsed.pointer));
      // As express.json (strict) refused them: a bare string, number or null is not a request.
      if (parsed.value === null || typeof parsed.value !== 'object')
        return next(bodyFailure('The body is not a JSON object.', ''));
      req.body = parsed.value;
      next();
    });
  };
}
