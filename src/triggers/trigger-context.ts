import type { KubeConfig } from '@kubernetes/client-node';
import type { CommandResult } from '../runners/command-result.js';
import type { TriggersConfig } from '../config/triggers-env.js';
import type { RunPod } from './trigger-run.js';

/** What a trigger needs while it runs: settings, a way to run commands, and where to record them. */
export interface TriggerContext {
  runId: string;
  config: TriggersConfig;
  /** Runs an argv through the one process runner (timeout, cancel signal, output cap, env allow-list). */
  run(argv: string[], options?: { timeoutMs?: number; cancellable?: boolean }): Promise<CommandResult>;
  /** Adds a finished command or API step to the run, so GET /triggers/:id shows progress. */
  record(result: CommandResult): CommandResult;
  /** Adds pods the run started (learned from the Kubernetes API): its alerts must come from them. */
  notePods(pods: RunPod[]): void;
  /** The Kubernetes client configuration, or why there is none. */
  kubeConfig(): Promise<{ ok: true; value: KubeConfig } | { ok: false; reason: string }>;
  signal: AbortSignal;
}

/** How a trigger ended: ok, or the one-line reason it failed. */
export type TriggerOutcome = { ok: true } | { ok: false; error: string };

/** Why a step failed, in one line. */
export function failureReason(result: CommandResult): string {
  return result.reason ?? `${result.argv[0] ?? 'command'} failed`;
}

/** The first failed step's reason, as the run's error. */
export function failedWith(result: CommandResult): TriggerOutcome {
  return { ok: false, error: failureReason(result) };
}
