import type { NextFunction, Request, Response } from 'express';
import { cutText } from '../../alerts/cut-text.js';
import type { Metrics } from '../../metrics/metrics.js';
import { unsupportedMediaType } from '../problem.js';
import { refuseRest } from '../refuse-rest.js';
import { reject } from './ingest-refusal.js';

const JSON_OUTPUT_HINT =
  'Falco sends text/plain when json_output is false. Set json_output: true (chart value falco.json_output) so it posts JSON.';

// The most bytes of a header's media type or charset a refusal shows (a header may be 16 KiB).
const SHOWN_BYTES = 40;

// ASCII is a subset of UTF-8, so a body declared as either is read correctly.
const UTF8_COMPATIBLE = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

/**
 * True when a Content-Encoding names no coding but identity. The header is a list (RFC 9110,
 * section 8.4) whose empty elements a recipient ignores, and Node joins repeated ones with commas:
 * an empty `Content-Encoding:` or `identity, identity` was refused as compressed, the alert lost.
 */
export function isIdentityCoding(header: string | undefined): boolean {
  if (header === undefined || header === 'identity') return true;
  return header.split(',').every((coding) => {
    const name = coding.trim().toLowerCase();
    return name === '' || name === 'identity';
  });
}

/**
 * Why a Content-Type cannot carry a Falco JSON alert, or undefined when it can. Falco always sends
 * application/json; curl -d sends form-urlencoded, so only text and multipart are refused.
 */
export function mediaTypeProblem(contentType: string | undefined): string | undefined {
  // What Falco sends, checked on every alert: no lower-casing, splitting or regular expression.
  if (contentType === 'application/json') return undefined;
  const header = (contentType ?? '').toLowerCase();
  const type = mediaTypeOf(header);
  if (type.startsWith('text/') || type.startsWith('multipart/'))
    return `Content-Type ${cutText(type, SHOWN_BYTES)} is not JSON. ${type === 'text/plain' ? JSON_OUTPUT_HINT : 'Send application/json.'}`;
  return charsetProblem(header);
}

/**
 * Why a Content-Type's charset cannot be read, or undefined: bodies are read as UTF-8 (JSON's only
 * interchange encoding), so another declared charset would be misread.
 */
export function charsetProblem(contentType: string | undefined): string | undefined {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/.exec((contentType ?? '').toLowerCase())?.[1];
  if (charset !== undefined && !UTF8_COMPATIBLE.has(charset))
    return `charset=${cutText(charset, SHOWN_BYTES)} is not supported; send UTF-8 JSON.`;
  return undefined;
}

/** Where checkMediaType leaves the refusal of a Falco text alert for refuseTextAlert. */
const TEXT_ALERT_REFUSAL = 'textAlertRefusal';

/** The media type of a lower-cased Content-Type header, without its parameters. */
function mediaTypeOf(header: string): string {
  return header.split(';')[0]?.trim() ?? '';
}

/** Falco's text alert (json_output: false) is `text/plain`. */
function isFalcoTextAlert(contentType: string | undefined): boolean {
  return mediaTypeOf((contentType ?? '').toLowerCase()) === 'text/plain';
}

/**
 * Refuses (415) an ingest request whose Content-Type cannot carry a Falco JSON alert. A Falco text
 * alert goes on to be read (within the same budget and cap as a JSON one): refuseTextAlert then
 * refuses it with its text in the log line, so a sensor left at json_output: false (Falco's default)
 * loses no alert the log keeps.
 */
export function checkMediaType(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const detail = mediaTypeProblem(req.headers['content-type']);
    if (detail === undefined) return next();
    if (isFalcoTextAlert(req.headers['content-type'])) {
      res.locals[TEXT_ALERT_REFUSAL] = detail;
      return next();
    }
    // Its body is never read: closed while it arrives, as readCappedBody's refusals.
    refuseRest(req, res);
    reject(req, res, metrics, 'unsupported_media_type', unsupportedMediaType('Content-Type', detail));
  };
}

/** After the body is read: refuses a Falco text alert (415), logging its text as `text`. */
export function refuseTextAlert(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const detail: unknown = res.locals[TEXT_ALERT_REFUSAL];
    if (typeof detail !== 'string') return next();
    const body: unknown = req.body;
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : '';
    reject(req, res, metrics, 'unsupported_media_type', unsupportedMediaType('Content-Type', detail), {
      text,
    });
  };
}
