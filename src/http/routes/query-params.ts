import querystring from 'node:querystring';
import * as z from 'zod';
import type { AlertQuery } from '../../alerts/alert-store.js';
import { cutText } from '../../alerts/cut-text.js';
import { parseFalcoTime } from '../../alerts/falco-time.js';
import { MAX_POINTER_BYTES } from '../../alerts/json-pointer.js';
import { firstNamed } from '../../alerts/parse-falco-alert.js';
import { PRIORITIES, PRIORITY_CHOICE } from '../../alerts/priority.js';
import { buildProblem, type Problem } from '../problem.js';

const MAX_LIMIT = 1000;
// One message for every bad limit: out of range said zod's 'Too small: expected number to be >=1'.
const LIMIT_RANGE = `must be a whole number from 1 to ${MAX_LIMIT}`;

// No length of its own: an accepted alert's rule, hostname or tag has none either (a 5,000-character
// rule name was stored, and no filter could find it), and the request line bounds a value already:
// past SERVER_MAX_HEADER_BYTES (percent-encoded, up to 9 bytes a character) the request gets a 431.
// Empty is refused: an accepted alert's rule is never empty, and its source never is either (an
// absent one reads as `unknown`, or `internal`).
const text = z.string().min(1, { error: 'must not be empty' });
// Empty asks for the alerts without one: a sensor with an empty FALCO_HOSTNAME or a writer that
// leaves hostname out, an event outside any Kubernetes namespace.
const textOrNone = z.string().describe('Exact match; empty finds the alerts without one (empty or not sent)');
// Said as ingest says it: zod's own 'Invalid option: expected one of "Emergency"|"Alert"|...' was not.
const priority = z.enum(PRIORITIES, { error: PRIORITY_CHOICE });

/** The filters of `GET /alerts` and `GET /alerts/stream`. */
const filterShape = {
  rule: text.optional(),
  priority: priority.optional(),
  min_priority: priority.optional(),
  source: text.optional(),
  hostname: textOrNone.optional(),
  tag: text.optional(),
  namespace: textOrNone.optional(),
  since: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const ms = parseFalcoTime(value);
      // A `+` in a query string reads as a space: an offset such as +02:00 must be sent as %2B02:00.
      const hint = value.includes(' ') ? ' (write a + in its offset as %2B)' : '';
      if (ms === undefined) ctx.addIssue({ code: 'custom', message: `must be an RFC 3339 timestamp${hint}` });
      return ms;
    }),
};

// Strict: a misspelt or unknown parameter (`priorty`, `until`, `rule[]`) is refused by name, not
// ignored with the whole list sent back.
/** Query string of `GET /alerts` (`format` is read by parseExportFormat). */
export const alertQuerySchema = z.strictObject({
  ...filterShape,
  limit: z.coerce
    .number()
    .int()
    .min(1, { error: LIMIT_RANGE })
    .max(MAX_LIMIT, { error: LIMIT_RANGE })
    .default(100),
  format: z.string().optional(),
});

/** Query string of `GET /alerts/stream`: with `others=true`, alerts outside the filters come too, as `event: other`. */
export const streamQuerySchema = z.strictObject({
  ...filterShape,
  others: z.enum(['true', 'false']).optional(),
});

export type ParsedAlertQuery = { ok: true; query: AlertQuery } | { ok: false; problem: Problem };

type Issue = { path: PropertyKey[]; message: string };

// A 400 naming each bad parameter, up to MAX_NAMED_PROBLEMS of them (the rest are counted): 1,500
// unknown ones made a 110 KB answer to an 11 KB request.
function invalidQuery(issues: readonly Issue[]): {
  ok: false;
  problem: Problem;
} {
  const { named, more } = firstNamed(issues);
  // A parameter's name is the client's to choose, up to the whole request line: named cut.
  const errors = named.map((issue) => ({
    pointer: cutText(issue.path.join('.'), MAX_POINTER_BYTES),
    detail: issue.message,
  }));
  const detail =
    errors.map((e) => `${e.pointer}: ${e.detail}`).join('; ') + (more > 0 ? `; and ${more} more` : '');
  return { ok: false, problem: buildProblem('invalid-request', { detail, errors }) };
}

/**
 * `req.query` of every route (Express's `query parser`): node's querystring, which reads the first
 * 1000 pairs, with a run of `&` read as one. Empty pairs counted among those 1000 without making a
 * parameter: past 1,000 of them (`?&&&…&rule=X`) a filter was dropped and the whole list answered
 * as if filtered. Any other pair past the 1000th is dropped too, but then the first 1000 name
 * unknown or repeated parameters, which are refused. No query string at all comes as null.
 */
export const parseQueryText = (text: string | null | undefined): querystring.ParsedUrlQuery =>
  querystring.parse((text ?? '').replace(/&{2,}/g, '&'));

/**
 * Validates a query string against a strict schema: a parameter given twice (`limit=5&limit=6`) is
 * named as such, then what `check` finds (before the schema coerces), then the schema runs, naming
 * each unknown parameter. Any of them: a 400 problem naming each.
 */
export function parseQueryString<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  check: (raw: Record<string, unknown>) => Issue[] = () => [],
): { ok: true; data: z.output<S> } | { ok: false; problem: Problem } {
  const params = (raw ?? {}) as Record<string, unknown>;
  const repeated = Object.entries(params).filter(([, value]) => Array.isArray(value));
  if (repeated.length > 0)
    return invalidQuery(repeated.map(([name]) => ({ path: [name], message: 'must be given once' })));
  const checked = check(params);
  if (checked.length > 0) return invalidQuery(checked);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.flatMap((issue): Issue[] =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: [key], message: 'is not a parameter of this endpoint' }))
        : [issue],
    );
    return invalidQuery(issues);
  }
  return { ok: true, data: result.data };
}

// Digits only: the coercion to a number would also take 1e2, 0x5 and ' 5'.
function checkLimit({ limit }: Record<string, unknown>): Issue[] {
  if (limit === undefined || (typeof limit === 'string' && /^\d{1,7}$/.test(limit))) return [];
  return [{ path: ['limit'], message: LIMIT_RANGE }];
}

function toAlertQuery(q: z.output<typeof streamQuerySchema>, limit: number): AlertQuery {
  return {
    rule: q.rule,
    priority: q.priority,
    minPriority: q.min_priority,
    source: q.source,
    hostname: q.hostname,
    tag: q.tag,
    namespace: q.namespace,
    sinceMs: q.since,
    limit,
  };
}

/** Validates `GET /alerts/stream`'s query string: the filters, and `others`. */
export function parseStreamQuery(
  raw: unknown,
): { ok: true; query: AlertQuery; others: boolean } | { ok: false; problem: Problem } {
  const parsed = parseQueryString(streamQuerySchema, raw, checkLimit);
  if (!parsed.ok) return parsed;
  return { ok: true, query: toAlertQuery(parsed.data, MAX_LIMIT), others: parsed.data.others === 'true' };
}

/** Validates `GET /alerts`'s query string into an AlertQuery, naming each bad parameter. */
export function parseAlertQuery(raw: unknown): ParsedAlertQuery {
  const parsed = parseQueryString(alertQuerySchema, raw, checkLimit);
  if (!parsed.ok) return parsed;
  return { ok: true, query: toAlertQuery(parsed.data, parsed.data.limit) };
}
