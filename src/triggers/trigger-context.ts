import type { KubeConfig } from '@kubernetes/client-node';
import type { CommandResult } from '../runners/command-result.js';
import type { TriggersConfig } from '../config/triggers-env.js';
import { runCommand } from '../runners/run-command.js';
import { loadKubeConfig } from './load-kube-config.js';
import { mergeRunPods } from './run-pods.js';
import type { RunPod, TriggerRun } from './trigger-run.js';
import type { Verifier } from './verify-run.js';

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

/**
 * The context of one run: its commands go through the one process runner with the run's cancel
 * signal (unless a step is not cancellable: cleanup), and what it records lands on the run.
 */
export function createTriggerContext(
  run: TriggerRun,
  signal: AbortSignal,
  deps: { config: TriggersConfig; childEnv: Record<string, string>; verifier: Verifier },
): TriggerContext {
  const { config } = deps;
  return {
    runId: run.id,
    config,
    signal,
    run: (argv, options = {}) =>
      runCommand(argv, {
        timeoutMs: options.timeoutMs ?? config.commandTimeoutMs,
        signal: options.cancellable === false ? undefined : signal,
        maxOutputChars: config.outputMaxChars,
        env: deps.childEnv,
      }),
    record: (result) => {
      run.commands.push(result);
      return result;
    },
    notePods: (pods) => {
      run.pods = mergeRunPods(run.pods ?? [], pods);
      deps.verifier.runChanged(run);
    },
    kubeConfig: () => loadKubeConfig(config.kubeconfig),
  };
}
