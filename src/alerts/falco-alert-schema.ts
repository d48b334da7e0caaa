import * as z from 'zod';
import { PRIORITIES, PRIORITY_CHOICE } from './priority.js';
import { parseFalcoTime } from './falco-time.js';
import type { JsonValue } from './parse-json.js';

/** A value of `output_fields`: what libs' `rawval_to_json` can produce. */
export type OutputFieldValue =
  string | number | bigint | boolean | null | Array<string | number | bigint | boolean | null>;

/** `output_fields` as received. Keys such as `__proto__` are own data properties, never prototypes. */
export type OutputFields = Record<string, OutputFieldValue>;

function isScalar(value: unknown): boolean {
  const type = typeof value;
  return value === null || type === 'string' || type === 'number' || type === 'bigint' || type === 'boolean';
}

// Zod error maps: "is required" when the key is absent, else what was expected.
function expected(what: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? 'is required' : `${what}, got ${describe(issue.input)}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

// Checked by hand rather than with z.record: zod rebuilds records and would drop a `__proto__` key.
// With `.check`, not `.superRefine`: superRefine gives each parse's payload an `addIssue` closure,
// and with it V8 kept every alert's output fields through two young collections into the old
// generation (19 KB of each 25 KB alert, a full collection every 0.7 s at 5,000 alerts/s).
const outputFieldsSchema = z
  .custom<OutputFields>()
  .check((payload) => {
    const { value } = payload;
    const problem = (message: string, path?: PropertyKey[]) =>
      payload.issues.push({ code: 'custom', message, input: value, ...(path ? { path } : {}) });
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problem(`must be an object, got ${describe(value)}`);
      return;
    }
    for (const key of Object.keys(value)) {
      const field = (value as Record<string, unknown>)[key];
      if (isScalar(field)) continue;
      if (Array.isArray(field)) {
        const bad = field.findIndex((item) => !isScalar(item));
        if (bad === -1) continue;
        problem(`list items must be strings, numbers, booleans or null, got ${describe(field[bad])}`, [
          key,
          bad,
        ]);
        continue;
      }
      problem(`must be a string, number, boolean, null or array, got ${describe(field)}`, [key]);
    }
  })
  // What the check above enforces, for the JSON Schema (GET /openapi.json); z.custom has none of its own.
  .meta({
    type: 'object',
    description: 'Falco fields of the rule output: scalars, null for <NA>, or lists of scalars',
    additionalProperties: {
      anyOf: [
        { type: ['string', 'number', 'boolean', 'null'] },
        { type: 'array', items: { type: ['string', 'number', 'boolean', 'null'] } },
      ],
    },
  });

const TIME_HINT = 'must be an RFC 3339 timestamp such as 2023-05-04T07:28:29.510366389Z';

/**
 * The body Falco POSTs for one alert (rule alerts and `Falco internal:` alerts, 0.34 to 0.44).
 * Only `rule`, `priority` and `time` are always present; unknown extra keys are kept.
 */
export const falcoAlertSchema = z
  .object({
    rule: z.string({ error: expected('must be a string') }).min(1, { error: 'must not be empty' }),
    priority: z.enum(PRIORITIES, {
      error: (issue) => (issue.input === undefined ? 'is required' : PRIORITY_CHOICE),
    }),
    time: z
      .string({ error: expected(TIME_HINT) })
      .refine((text) => parseFalcoTime(text) !== undefined, { error: TIME_HINT }),
    hostname: z.string({ error: expected('must be a string') }).optional(),
    source: z.string({ error: expected('must be a string') }).optional(),
    output: z.string({ error: expected('must be a string') }).optional(),
    message: z.string({ error: expected('must be a string') }).optional(),
    tags: z
      .array(z.string({ error: expected('must be a string') }), {
        error: expected('must be an array of strings'),
      })
      .optional(),
    output_fields: outputFieldsSchema.optional(),
  })
  .catchall(z.custom<JsonValue>());

/** A validated Falco alert. */
export type FalcoAlert = z.infer<typeof falcoAlertSchema>;

/**
 * The alert's rendered rule output: `output`, else `message` (the same text without the time and
 * priority prefix), which is all there is with `json_include_output_property: false` and
 * `json_include_message_property: true` (Falco 0.39+).
 */
export function outputText(alert: Pick<FalcoAlert, 'output' | 'message'>): string | undefined {
  return alert.output ?? alert.message;
}
