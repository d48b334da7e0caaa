import { formatCommand } from './format-command.js';
import {
  buildDeployPlan,
  buildPreflightSteps,
  buildRenderStep,
  buildSecretSteps,
  type DeployOptions,
  type DeployStep,
} from './deploy-plan.js';
import { checkReceiverEnv } from './receiver-env.js';
import { requiredSecrets } from './required-secrets.js';
import type { CommandResult } from '../runners/command-result.js';
import { FAILURE_ENDINGS } from '../runners/run-command.js';

export interface DeployDeps {
  run(
    argv: string[],
    options: { timeoutMs: number; echo?: boolean; keepStdout?: boolean },
  ): Promise<CommandResult>;
  /** Progress lines go here (the CLI passes stdout). */
  write(line: string): void;
}

const INSTALL_HINTS: Record<DeployStep['command'], string> = {
  helm: 'Install Helm 3.8+ (https://helm.sh/docs/intro/install/) and put it on PATH',
  kubectl: 'Install kubectl (https://kubernetes.io/docs/tasks/tools/) and put it on PATH',
};

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

/** How a failed command ended, where no exit code or time limit says it (explainFailure). */
const HOW_IT_ENDED: Partial<Record<NonNullable<CommandResult['failure']>, string>> = {
  ...FAILURE_ENDINGS,
  // The result keeps no signal's name.
  signal: 'was killed by a signal',
};

/** A message that says what is wrong and what to do, per failure kind. */
export function explainFailure(step: DeployStep, result: CommandResult): string {
  if (result.failure === 'not-found') {
    return `${step.command} not found on PATH. ${INSTALL_HINTS[step.command]}, or run with --dry-run to print the commands.`;
  }
  // EACCES: the runner's execvp found the tool on PATH but none it may execute. No step ran, so
  // neither the cluster nor the command line is at fault.
  if (result.failure === 'not-executable') {
    const tool = step.command;
    return `${tool} could not be run: the ${tool} on PATH is not executable (permission denied). Make it executable (chmod +x) or put an executable ${tool} earlier on PATH, or run with --dry-run to print the commands.`;
  }
  if (step.fix !== undefined && result.failure === 'exit') return `${lastLine(result.output)}: ${step.fix}`;
  if (step.checksCluster) {
    return `No reachable Kubernetes cluster: kubectl says "${lastLine(result.output)}". Start one (e.g. minikube start) or pick a context with kubectl config use-context.`;
  }
  const why =
    result.failure === 'timeout'
      ? `timed out after ${step.timeoutMs / 1000} s`
      : (HOW_IT_ENDED[result.failure ?? 'exit'] ?? `exited with code ${result.exitCode}`);
  const last = lastLine(result.output);
  return `${formatCommand(step.command, step.args)} ${why}${last ? `: ${last}` : ''}`;
}

/** Runs (or with dryRun prints) the deployment; resolves to the process exit code. */
export async function deploy(options: DeployOptions, dryRun: boolean, deps: DeployDeps): Promise<number> {
  const plan = buildDeployPlan(options);
  if (dryRun) {
    deps.write('Dry run: these commands would run, in this order, from the repository root:');
    for (const step of plan) deps.write(formatCommand(step.command, step.args));
    return 0;
  }

  const check = async (step: DeployStep, keepStdout = false): Promise<CommandResult | undefined> => {
    const result = await deps.run([step.command, ...step.args], { timeoutMs: step.timeoutMs, keepStdout });
    deps.write(result.failed ? `✗ ${step.title}: ${explainFailure(step, result)}` : `✓ ${step.title}`);
    return result.failed ? undefined : result;
  };
  for (const step of buildPreflightSteps(options)) {
    if (!(await check(step))) return 1;
  }
  const rendered = await check(buildRenderStep(options), true);
  if (!rendered) return 1;
  let secrets;
  let env;
  try {
    secrets = requiredSecrets(rendered.stdout ?? '', options.namespace);
    env = checkReceiverEnv(rendered.stdout ?? '', options.namespace);
  } catch (error) {
    deps.write(
      `✗ the manifests in ${options.kustomizeDir} render: ${error instanceof Error ? error.message : String(error)}`,
    );
    return 1;
  }
  // A value the receiver refuses crash-loops its pod (exit 2), and the rollout only times out.
  for (const line of env.unknown) deps.write(`! ${line}`);
  if (env.problems.length > 0) {
    deps.write(`✗ the receiver's settings in ${options.kustomizeDir}: it would refuse to start:`);
    for (const problem of env.problems) deps.write(`  - ${problem}`);
    return 1;
  }
  for (const step of buildSecretSteps(secrets)) {
    if (!(await check(step))) return 1;
  }
  for (const [index, step] of plan.entries()) {
    deps.write(`[${index + 1}/${plan.length}] ${step.title}`);
    deps.write(`  $ ${formatCommand(step.command, step.args)}`);
    const result = await deps.run([step.command, ...step.args], { timeoutMs: step.timeoutMs, echo: true });
    if (result.failed) {
      deps.write(`✗ ${explainFailure(step, result)}`);
      return 1;
    }
  }
  deps.write('✓ Falco and falco-alert-receiver are deployed');
  return 0;
}
