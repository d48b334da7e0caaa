import * as z from 'zod';
import { falcoAlertSchema } from '../../alerts/falco-alert-schema.js';
import { PRIORITIES } from '../../alerts/priority.js';
import type { AlertSummary } from '../dashboard/summarize-alerts.js';
import type { Problem } from '../problem.js';
import {
  EXPECTATION_STATUSES,
  RUN_STATUSES,
  TRIGGER_KINDS,
  type TriggerRun,
} from '../../triggers/trigger-run.js';

// What the service answers, as zod schemas for GET /openapi.json. Each is checked against the
// TypeScript type the code sends (`satisfies`), so a field changed there fails the type check here.

/** RFC 9457 problem details, as every refusal is sent. */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int().min(400).max(599),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z
    .array(
      z.object({
        pointer: z.string().describe('JSON pointer into the body, or the query parameter name'),
        detail: z.string(),
      }),
    )
    .optional(),
  header: z
    .string()
    .optional()
    .describe('The request header at fault: `Content-Type` or `Content-Encoding` (415)'),
}) satisfies z.ZodType<Problem>;

/** `202` to an accepted alert. */
export const acceptedSchema = z.object({ id: z.uuid(), receivedAt: z.iso.datetime() });

/** A stored alert as `GET /alerts`, `GET /alerts/{id}`, the stream and NDJSON present it. */
export const storedAlertSchema = z.object({
  id: z.uuid(),
  receivedAt: z.iso.datetime(),
  source: z.string().describe('`source`, or `internal` / `unknown` when Falco sent none'),
  alert: falcoAlertSchema,
});

export const alertListSchema = z.object({
  count: z.int().min(0),
  alerts: z.array(storedAlertSchema),
  truncated: z.literal(true).optional().meta({
    description:
      "The list was cut (newest kept): at QUERY_MAX_BYTES, or where a shared store's read stopped at its own bound (STORE_MAX_BYTES of alerts, or about 2 x STORE_MAX_ALERTS entries read) before older alerts",
  }),
});

export const healthSchema = z.object({ status: z.enum(['ok', 'ready', 'shutting down']) });

const prioritySchema = z.enum(PRIORITIES);

export const summarySchema = z.object({
  window: z.enum(['15m', '1h', '24h']),
  since: z.iso.datetime(),
  asOf: z.iso.datetime(),
  total: z.int().min(0),
  byPriority: z.array(z.object({ priority: prioritySchema, count: z.int().min(0) })),
  topRules: z.array(
    z.object({
      rule: z.string().meta({
        description: 'The rule, or the first 1,024 UTF-16 code units of a longer one (then `truncated`)',
      }),
      count: z.int().min(0),
      truncated: z.literal(true).optional().meta({
        description:
          'The rule is longer than `rule`, which is its start: no exact filter can be made of it, and another long rule may start alike (it is listed apart)',
      }),
    }),
  ),
  unlistedMax: z.int().min(0).meta({
    description: 'The highest count among the rules left out of topRules (0 when it holds every rule)',
  }),
  timeline: z.object({
    startMs: z.int(),
    stepMs: z.int().min(1),
    byPriority: z.array(z.object({ priority: prioritySchema, counts: z.array(z.int().min(0)) })),
  }),
  room: z.int().min(0).meta({
    description:
      'How many more alerts the store takes before it evicts one counted here (STORE_MAX_ALERTS and, in memory, STORE_MAX_BYTES; oldest first)',
  }),
}) satisfies z.ZodType<AlertSummary>;

export const dashboardConfigSchema = z.object({
  triggersEnabled: z.boolean(),
  priorities: z.array(prioritySchema),
  heartbeatMs: z.int().min(1).meta({
    description: 'STREAM_HEARTBEAT_MS: the page reconnects a live stream silent for 2.5 heartbeats',
  }),
});

const commandSchema = z.object({
  argv: z.array(z.string()),
  exitCode: z.int().nullable(),
  durationMs: z.number().min(0),
  timedOut: z.boolean(),
  failed: z.boolean(),
  reason: z.string().optional(),
  failure: z
    .enum(['not-found', 'not-executable', 'timeout', 'cancelled', 'output-limit', 'exit', 'signal', 'empty'])
    .optional(),
  output: z.string(),
});

/** A trigger run: its commands and, per expected rule, whether Falco's alert arrived. */
export const triggerRunSchema = z.object({
  id: z.string(),
  kind: z.enum(TRIGGER_KINDS),
  status: z.enum(RUN_STATUSES),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  target: z.record(z.string(), z.string()),
  nonce: z.string().optional(),
  error: z.string().optional(),
  cancelRequestedAt: z.iso.datetime().optional(),
  commands: z.array(commandSchema),
  verification: z.object({
    windowMs: z.int().min(0),
    expectations: z.array(
      z.object({
        rule: z.string(),
        status: z.enum(EXPECTATION_STATUSES),
        alertId: z.string().optional(),
        latencyMs: z.number().optional(),
      }),
    ),
    unseenAlertsAt: z.iso
      .datetime()
      .optional()
      .describe(
        'When the replica verifying the run found alerts removed from the shared store before it read them, while the run waited, or took the run over and Redis refused to read back the alerts stored meanwhile, or read back only the newest alerts of a busy rule: a missed expectation may be wrong.',
      ),
  }),
}) satisfies z.ZodType<TriggerRun>;

export const triggerRunListSchema = z.object({
  runs: z.array(triggerRunSchema),
  partial: z
    .literal(true)
    .optional()
    .describe(
      "The shared store (Redis) failed (unavailable, or refusing the call): only this replica's own runs are listed. Or it holds runs this replica cannot read (another version's, or not runs): they are left out.",
    ),
  detail: z.string().optional().describe('With `partial`: why, to show to the user.'),
});

/** `GET /ui/session` and a sign-in: who the caller is (the CSRF token trigger calls from a session send). */
export const sessionSchema = z.union([
  z.object({
    role: z.enum(['viewer', 'trigger']),
    via: z.enum(['bearer', 'session', 'proxy']),
    expiresAt: z.iso.datetime().optional(),
    csrfToken: z.string().optional(),
    user: z.string().optional(),
  }),
  // Without VIEWER_TOKEN: reading is open, nobody signs in.
  z.object({ readAuth: z.literal(false) }),
]);

/** `POST /ui/session`'s body. */
export const signInSchema = z.object({ token: z.string().min(1).describe('VIEWER_TOKEN or TRIGGER_TOKEN') });
