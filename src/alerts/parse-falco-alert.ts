import { findBoundsProblems, MAX_BODY_SHAPE } from './alert-bounds.js';
import { toPointer } from './json-pointer.js';
import { falcoAlertSchema, type FalcoAlert } from './falco-alert-schema.js';
import { parseJson } from './parse-json.js';
import { nullBeyondDoubleInText } from './parse-json-fast.js';

/** Why an ingest request was refused; the `reason` label of `falco_alerts_rejected_total`. */
export type RejectReason =
  | 'malformed_json'
  | 'duplicate_key'
  | 'forbidden_key'
  | 'invalid_alert'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'incomplete_body'
  | 'unknown_path';

/** Every reason, for pre-initialising counters so rates start at zero. */
export const REJECT_REASONS: readonly RejectReason[] = [
  'malformed_json',
  'duplicate_key',
  'forbidden_key',
  'invalid_alert',
  'unsupported_media_type',
  'payload_too_large',
  'incomplete_body',
  'unknown_path',
];

/** One bad field: an RFC 6901 JSON pointer into the body and what is wrong with it. */
export interface FieldProblem {
  pointer: string;
  detail: string;
}

export type ParseAlertResult =
  /** `text`: the body's text with numbers beyond a double's range written as null, when it had any. */
  | { ok: true; alert: FalcoAlert; text?: string }
  | { ok: false; reason: RejectReason; detail: string; problems: FieldProblem[] };

// Keys that would reach Object.prototype if any consumer copied the body with assignment.
const FORBIDDEN_TOP_LEVEL_KEYS = ['__proto__', 'constructor', 'prototype'];

/** A refusal names this many bad fields or parameters at most, so one junk request cannot make a huge answer. */
export const MAX_NAMED_PROBLEMS = 20;

/** The first MAX_NAMED_PROBLEMS of `all`, and how many more there are. */
export function firstNamed<T>(all: readonly T[]): { named: T[]; more: number } {
  const named = all.slice(0, MAX_NAMED_PROBLEMS);
  return { named, more: all.length - named.length };
}

/** The first MAX_NAMED_PROBLEMS of `all`, and a detail naming them and counting the rest. */
export function namedProblems(all: readonly FieldProblem[]): { detail: string; problems: FieldProblem[] } {
  const { named: problems, more } = firstNamed(all);
  const detail =
    problems.map((p) => `${p.pointer || '/'} ${p.detail}`).join('; ') +
    (more > 0 ? ` (and ${more} more)` : '');
  return { detail, problems };
}

function invalidAlert(all: FieldProblem[]): ParseAlertResult {
  return { ok: false, reason: 'invalid_alert', ...namedProblems(all) };
}

const REASON_OF_KIND = {
  malformed: 'malformed_json',
  duplicate_key: 'duplicate_key',
  too_large: 'invalid_alert',
} as const satisfies Record<string, RejectReason>;

/** Parses and validates one Falco JSON alert body (already decoded as UTF-8). */
export function parseFalcoAlert(text: string): ParseAlertResult {
  const parsed = parseJson(text, MAX_BODY_SHAPE);
  if (!parsed.ok) {
    const reason = REASON_OF_KIND[parsed.kind];
    const problems = [{ pointer: parsed.pointer, detail: parsed.message }];
    return { ok: false, reason, detail: parsed.message, problems };
  }
  const root = parsed.value;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    const detail = 'the body must be one JSON object (Falco sends one alert per request)';
    return { ok: false, reason: 'invalid_alert', detail, problems: [{ pointer: '', detail }] };
  }
  const forbidden = FORBIDDEN_TOP_LEVEL_KEYS.filter((key) => Object.hasOwn(root, key));
  if (forbidden.length > 0) {
    const problems = forbidden.map((key) => ({
      pointer: toPointer([key]),
      detail: 'this key is not allowed',
    }));
    return { ok: false, reason: 'forbidden_key', detail: `forbidden key: ${forbidden.join(', ')}`, problems };
  }
  const oversized = findBoundsProblems(root);
  if (oversized.length > 0) return invalidAlert(oversized);
  const result = falcoAlertSchema.safeParse(root);
  if (result.success)
    return parsed.beyondDouble
      ? { ok: true, alert: result.data, text: nullBeyondDoubleInText(text) }
      : { ok: true, alert: result.data };
  return invalidAlert(
    result.error.issues.map((issue) => ({ pointer: toPointer(issue.path), detail: issue.message })),
  );
}
