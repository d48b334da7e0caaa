import { z } from 'zod';
import type { AlertQuery } from '../../alerts/alert-store.js';
import { parseFalcoTime } from '../../alerts/falco-time.js';
import { PRIORITIES } from '../../alerts/priority.js';
import { buildProblem, type Problem } from '../problem.js';

const MAX_LIMIT = 1000;

const text = z.string().min(1).max(500);

/** Query string of `GET /alerts` and `GET /alerts/stream`. */
export const alertQuerySchema = z.object({
  rule: text.optional(),
  priority: z.enum(PRIORITIES).optional(),
  min_priority: z.enum(PRIORITIES).optional(),
  source: text.optional(),
  hostname: text.optional(),
  tag: text.optional(),
  namespace: text.optional(),
  since: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const ms = parseFalcoTime(value);
      if (ms === undefined) ctx.addIssue({ code: 'custom', message: 'must be an RFC 3339 timestamp' });
      return ms;
    }),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(100),
});

/** Only for `GET /alerts/stream`: with `others=true`, alerts outside the filters come too, as `event: other`. */
export const streamOnlySchema = z.object({ others: z.enum(['true', 'false']).optional() });

export type ParsedAlertQuery = { ok: true; query: AlertQuery } | { ok: false; problem: Problem };

// A 400 naming each bad parameter.
function invalidQuery(error: z.ZodError): { ok: false; problem: Problem } {
  const errors = error.issues.map((issue) => ({ pointer: issue.path.join('.'), detail: issue.message }));
  const detail = errors.map((e) => `${e.pointer}: ${e.detail}`).join('; ');
  return { ok: false, problem: buildProblem('invalid-request', { detail, errors }) };
}

/** Validates `GET /alerts/stream`'s query string: the filters, and `others`. */
export function parseStreamQuery(
  raw: unknown,
): { ok: true; query: AlertQuery; others: boolean } | { ok: false; problem: Problem } {
  const parsed = parseAlertQuery(raw);
  if (!parsed.ok) return parsed;
  const extra = streamOnlySchema.safeParse(raw);
  if (!extra.success) return invalidQuery(extra.error);
  return { ...parsed, others: extra.data.others === 'true' };
}

/** Validates the query string into an AlertQuery, naming each bad parameter. */
export function parseAlertQuery(raw: unknown): ParsedAlertQuery {
  const result = alertQuerySchema.safeParse(raw);
  if (!result.success) return invalidQuery(result.error);
  const q = result.data;
  return {
    ok: true,
    query: {
      rule: q.rule,
      priority: q.priority,
      minPriority: q.min_priority,
      source: q.source,
      hostname: q.hostname,
      tag: q.tag,
      namespace: q.namespace,
      sinceMs: q.since,
      limit: q.limit,
    },
  };
}
