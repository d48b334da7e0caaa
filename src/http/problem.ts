import { STATUS_CODES } from 'node:http';
import type { Response } from 'express';
import type { FieldProblem } from '../alerts/parse-falco-alert.js';

/** The problem types this service answers with, and the HTTP status of each (one table). */
export const PROBLEM_TYPES = {
  'invalid-alert': { status: 400, title: 'The body is not a valid Falco alert' },
  'malformed-json': { status: 400, title: 'The body is not valid JSON' },
  'invalid-request': { status: 400, title: 'The request is not valid' },
  unauthorized: { status: 401, title: 'Missing or wrong bearer token' },
  'ingest-unauthorized': {
    status: 401,
    title: 'Ingest needs a verified client certificate or the secret path',
  },
  'forbidden-origin': { status: 403, title: 'Cross-site request refused' },
  forbidden: { status: 403, title: 'Not allowed with these credentials' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  'payload-too-large': { status: 413, title: 'The body is larger than this receiver accepts' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'expectation-failed': { status: 417, title: 'The expectation is not supported' },
  'misdirected-request': { status: 421, title: 'Host not served here' },
  'request-timeout': { status: 408, title: 'The request did not arrive in time' },
  'header-fields-too-large': { status: 431, title: 'The request headers are too large' },
  'too-many-requests': { status: 429, title: 'Too many requests' },
  'service-unavailable': { status: 503, title: 'Service unavailable' },
  'internal-error': { status: 500, title: 'Internal error' },
} as const;

export type ProblemType = keyof typeof PROBLEM_TYPES;

/** An RFC 9457 problem details body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** Each bad field as a JSON pointer into the request body (or the query parameter name). */
  errors?: FieldProblem[];
  /** The request header at fault (a 415's `Content-Type` or `Content-Encoding`, a 417's `Expect`). */
  header?: string;
  [extension: string]: unknown;
}

const TYPE_BASE = 'urn:falco-alert-receiver:problem:';

/** Builds a problem body of the given type. */
export function buildProblem(
  type: ProblemType,
  fields: Omit<Partial<Problem>, 'type' | 'status'> = {},
): Problem {
  const { status, title } = PROBLEM_TYPES[type];
  return { type: TYPE_BASE + type, title, status, ...fields };
}

/** A 415 naming the request header at fault, as `errors[]` names a body's fields. */
export function unsupportedMediaType(header: 'Content-Type' | 'Content-Encoding', detail: string): Problem {
  return buildProblem('unsupported-media-type', { detail, header });
}

/**
 * A problem's body: one JSON line ended by a newline. Falco 0.34 and 0.35 (and later ones with
 * `http_output.echo`) print every response body to their stdout, between their own JSON alert
 * lines: without the newline the next alert was glued to it and a log shipper lost both.
 */
export function problemBody(problem: Problem): string {
  return `${JSON.stringify(problem)}\n`;
}

/**
 * A whole HTTP/1.1 answer carrying `problem`, as bytes to write on a socket that no parser or
 * response object serves (a connection refused before it is read, a request the parser refused);
 * it closes the connection. `headers`: more header lines, such as `Retry-After: 1`.
 */
export function rawProblemAnswer(problem: Problem, headers: readonly string[] = []): string {
  const body = problemBody(problem);
  return (
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\n` +
    'Content-Type: application/problem+json; charset=utf-8\r\n' +
    'X-Content-Type-Options: nosniff\r\n' +
    headers.map((header) => `${header}\r\n`).join('') +
    `Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Sends an `application/problem+json` response. */
export function sendProblem(res: Response, problem: Problem): void {
  res.status(problem.status).type('application/problem+json').send(problemBody(problem));
}
