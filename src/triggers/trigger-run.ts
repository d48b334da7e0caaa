import * as z from 'zod';
import type { CommandResult } from '../runners/command-result.js';
import type { RunPod } from '../runners/release-pods.js';

export type { RunPod };

export const TRIGGER_KINDS = ['shell', 'event-generator'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const EXPECTATION_STATUSES = ['pending', 'detected', 'missed', 'not_run'] as const;

/** One expected rule and whether an alert for it arrived within the window. */
export interface Expectation {
  rule: string;
  /** not_run: the window ended after the trigger itself had failed (not counted as missed). */
  status: (typeof EXPECTATION_STATUSES)[number];
  alertId?: string;
  /** Alert receipt time minus trigger start. */
  latencyMs?: number;
}

/** A trigger run as `GET /triggers/:id` shows it. */
export interface TriggerRun {
  id: string;
  kind: TriggerKind;
  status: RunStatus;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  target: Record<string, string>;
  /** The unique marker in the shell's command line (shell runs). */
  nonce?: string;
  error?: string;
  /**
   * When cancellation was asked for (POST /triggers/:id/cancel): the run's commands are stopped, its
   * cleanup still runs, and it ends failed, its error naming the cancellation.
   */
  cancelRequestedAt?: string;
  /** event-generator runs: the Job's pods, learned from the Kubernetes API while the run goes on. */
  pods?: RunPod[];
  commands: CommandResult[];
  verification: {
    windowMs: number;
    expectations: Expectation[];
    /**
     * When the replica verifying the run first found alerts removed from the shared store before it
     * read them, while the run waited (they are gone from every replica), or took the run over and
     * Redis refused to read back the alerts stored meanwhile, or its read-back of a rule's alerts
     * stopped at its share with alerts since the run's start still to read (adopt-orphans.ts): one of
     * them may have been its detection, so a `missed` expectation may be wrong. Absent while none
     * went by unseen.
     */
    unseenAlertsAt?: string;
  };
}

/** A shell run without a terminal (`{"terminal": false}`): Falco must not report it. */
export function isNegativeControl(run: TriggerRun): boolean {
  return run.kind === 'shell' && run.target.terminal === 'false';
}

// The fields of a run that the code reads or matches on (a run taken over is verified and counted
// here), of the types it reads them as; the rest (commands, a newer version's fields) is kept as
// stored. Loose objects: another version's extra fields pass through unchanged.
const storedRunSchema = z.looseObject({
  id: z.string(),
  kind: z.enum(TRIGGER_KINDS),
  status: z.enum(RUN_STATUSES),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  target: z.record(z.string(), z.string()),
  nonce: z.string().optional(),
  error: z.string().optional(),
  cancelRequestedAt: z.string().optional(),
  pods: z
    .array(
      z.looseObject({
        namespace: z.string(),
        name: z.string(),
        uid: z.string(),
        containerIds: z.array(z.string()),
      }),
    )
    .optional(),
  commands: z.array(z.custom<CommandResult>()),
  verification: z.looseObject({
    windowMs: z.number(),
    expectations: z.array(
      z.looseObject({
        rule: z.string(),
        status: z.enum(EXPECTATION_STATUSES),
        alertId: z.string().optional(),
        latencyMs: z.number().optional(),
      }),
    ),
    unseenAlertsAt: z.string().optional(),
  }),
}) satisfies z.ZodType<TriggerRun>;

// A field's path as a problem names it: a key of the stored text (a target's) that is not a plain
// word stands as `?`, so the path quotes no more of the stored text than a word.
const fieldPath = (path: readonly PropertyKey[]) =>
  path
    .map((key) => (typeof key === 'number' || /^\w{1,32}$/.test(String(key)) ? String(key) : '?'))
    .join('.');

/**
 * A run as stored (by this version or another, or by hand), or why it is not one: not JSON, or
 * the first field the code reads that is missing or of another type. `why` never quotes the
 * stored text (JSON.parse's own message does; zod's messages name types and expected values only).
 */
export function readStoredRun(json: string): { run: TriggerRun } | { why: string } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { why: 'not JSON' };
  }
  const parsed = storedRunSchema.safeParse(value);
  if (parsed.success) return { run: parsed.data };
  const [issue] = parsed.error.issues;
  return {
    why: `not a run: ${issue?.path.length ? fieldPath(issue.path) : 'the value'}: ${issue?.message ?? 'invalid'}`,
  };
}
