import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * Security headers on every response. The default CSP fits a page that loads only same-origin
 * scripts, styles and an SSE stream, with nothing inline; a page with stricter needs sets its own.
 * No `upgrade-insecure-requests` and no HSTS: the plain listener serves http:// on its own port,
 * and HSTS (which covers every port of a host) would break it once a browser saw the TLS listener.
 */
const policy = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      'default-src': ["'self'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'connect-src': ["'self'"],
      'object-src': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
    },
  },
  strictTransportSecurity: false,
  xFrameOptions: { action: 'deny' },
});

const flat = (text: string) => Buffer.from(text, 'utf8').toString('utf8');

/**
 * The headers helmet sets, as [name, value] pairs, read once: none of them depends on the request,
 * so each response copies them instead of running helmet's middleware chain again.
 */
function captureHeaders(): ReadonlyArray<readonly [string, string]> {
  const headers: Array<readonly [string, string]> = [];
  const res = {
    // Copied into flat strings: helmet builds the CSP by concatenation, and Node's header checks
    // on a concatenated (rope) string cost microseconds on every response.
    setHeader: (name: string, value: string) => headers.push([flat(name), flat(value)]),
    removeHeader: () => {},
  };
  let done = false;
  policy({} as IncomingMessage, res as unknown as ServerResponse, () => {
    done = true;
  });
  if (!done) throw new Error('helmet did not finish synchronously');
  return headers;
}

export const SECURITY_HEADERS = captureHeaders();

/**
 * What a 202 to `POST /alerts` keeps of them. It has no body, so nothing in it can be rendered,
 * framed, sniffed or embedded: the policies for documents (CSP, frames, cross-origin, referrer,
 * download) do nothing there. Left off, the answer Falco gets for every alert is 250 bytes instead
 * of 770, which its sender and our socket write on every alert, and which cost about 6 us of the
 * receiver's CPU per alert (and more of the sender's) with a connection per alert. `nosniff` stays:
 * it is short, and scanners look for it on every response.
 */
export const BODILESS_ANSWER_HEADERS = SECURITY_HEADERS.filter(
  ([name]) => name.toLowerCase() === 'x-content-type-options',
);

/** The security headers a bodiless answer leaves off (see BODILESS_ANSWER_HEADERS). */
export const DOCUMENT_ONLY_HEADERS = SECURITY_HEADERS.filter(
  (header) => !BODILESS_ANSWER_HEADERS.includes(header),
).map(([name]) => name);

export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
    next();
  };
}
