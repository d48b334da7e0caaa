import type { CommandResult } from '../runners/command-result.js';
import type { RunPod } from '../runners/release-pods.js';

export type { RunPod };

export type TriggerKind = 'shell' | 'event-generator';
export const TRIGGER_KINDS: readonly TriggerKind[] = ['shell', 'event-generator'];
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** One expected rule and whether an alert for it arrived within the window. */
export interface Expectation {
  rule: string;
  /** not_run: the window ended after the trigger itself had failed (not counted as missed). */
  status: 'pending' | 'detected' | 'missed' | 'not_run';
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
     * Redis refused to read back the alerts stored meanwhile (adopt-orphans.ts): one of them may
     * have been its detection, so a `missed` expectation may be wrong. Absent while none went by unseen.
     */
    unseenAlertsAt?: string;
  };
}

/** A shell run without a terminal (`{"terminal": false}`): Falco must not report it. */
export function isNegativeControl(run: TriggerRun): boolean {
  return run.kind === 'shell' && run.target.terminal === 'false';
}
