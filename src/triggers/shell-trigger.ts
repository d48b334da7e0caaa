import type { KubeConfig } from '@kubernetes/client-node';
import { buildDockerRemoveArgs, buildDockerShellArgs } from '../runners/docker-args.js';
import { execInPod } from '../runners/kube-exec.js';
import { buildShellPod, createPodLifecycle, SHELL_CONTAINER } from '../runners/kube-pods.js';
import type { CommandResult } from '../runners/command-result.js';
import { failedWith, failureReason, type TriggerContext, type TriggerOutcome } from './trigger-context.js';

/** Marker printed by the shell; with the nonce it makes the run's alert unique. */
export const CANARY_PREFIX = 'falco-receiver-canary-';

/** Where the shell runs: resolved from the request and the configured defaults. */
export interface ShellTarget {
  backend: 'kubernetes' | 'docker';
  /** Kubernetes namespace (kubernetes backend only). */
  namespace?: string;
  /** An existing pod (kubernetes) to exec into. */
  pod?: string;
  /** An existing container: in `pod` (kubernetes) or a docker container name. */
  container?: string;
  /** Image of the short-lived pod/container created for this run. */
  image?: string;
  /** false: the negative control, a shell without a terminal that Falco must not report (docker only). */
  terminal?: false;
}

/**
 * The shell command: a fixed template plus a hex nonce, never user text. `tty` fails without a
 * terminal, so a run that did not get one fails instead of silently causing no alert. The negative
 * control (`terminal` false) checks the opposite: it fails if it got a terminal after all.
 */
export function buildShellCommand(nonce: string, terminal = true): string[] {
  if (!/^[0-9a-f]{8,64}$/.test(nonce)) throw new Error('nonce must be hex');
  return ['sh', '-c', `${terminal ? '' : '! '}tty && echo ${CANARY_PREFIX}${nonce}`];
}

/** Name of the short-lived pod or container of a run. */
export const shortLivedName = (runId: string) => `falco-trigger-${runId.slice(0, 8)}`;

async function runDockerShell(
  target: ShellTarget,
  command: string[],
  ctx: TriggerContext,
): Promise<TriggerOutcome> {
  const options = { terminal: target.terminal };
  if (target.container) {
    const result = ctx.record(
      await ctx.run(buildDockerShellArgs({ container: target.container }, command, options)),
    );
    return result.failed ? failedWith(result) : { ok: true };
  }
  const name = shortLivedName(ctx.runId);
  const result = ctx.record(
    await ctx.run(buildDockerShellArgs({ image: target.image ?? '', name }, command, options)),
  );
  const outcome = result.failed ? failedWith(result) : { ok: true as const };
  // --rm removes the container when it exits; one killed by our timeout may be left behind.
  if (!result.timedOut && result.exitCode !== null) return outcome;
  const removed = ctx.record(await ctx.run(buildDockerRemoveArgs(name), { cancellable: false }));
  return afterCleanup(outcome, removed, `removing container ${name}`);
}

/**
 * The outcome with a cleanup step that failed named in it: what it should have removed is still
 * there, so a run that did its part still fails, as one whose helm uninstall failed does.
 */
function afterCleanup(outcome: TriggerOutcome, cleanup: CommandResult, what: string): TriggerOutcome {
  if (!cleanup.failed) return outcome;
  const left = `${what} failed: ${failureReason(cleanup)}`;
  return { ok: false, error: outcome.ok ? left : `${outcome.error}; ${left}` };
}

/** The short-lived pods' lifecycle of a run (its cleanup also for an orphaned run: remove-leftovers.ts). */
export function podLifecycleOf(kubeConfig: KubeConfig, ctx: Pick<TriggerContext, 'config' | 'signal'>) {
  const { outputMaxChars: maxOutputChars, commandTimeoutMs: timeoutMs } = ctx.config;
  return createPodLifecycle(kubeConfig, { maxOutputChars, pollMs: 500, timeoutMs, signal: ctx.signal });
}

async function runKubernetesShell(
  target: ShellTarget,
  command: string[],
  ctx: TriggerContext,
): Promise<TriggerOutcome> {
  const namespace = target.namespace ?? 'default';
  const kube = await ctx.kubeConfig();
  if (!kube.ok) return { ok: false, error: kube.reason };
  const { maxOutputChars, timeoutMs } = {
    maxOutputChars: ctx.config.outputMaxChars,
    timeoutMs: ctx.config.commandTimeoutMs,
  };
  const exec = (pod: string, container: string) =>
    execInPod(kube.value, { namespace, pod, container }, command, {
      timeoutMs,
      maxOutputChars,
      signal: ctx.signal,
    });
  if (target.pod) {
    const result = ctx.record(await exec(target.pod, target.container ?? ''));
    return result.failed ? failedWith(result) : { ok: true };
  }
  const pods = podLifecycleOf(kube.value, ctx);
  const name = shortLivedName(ctx.runId);
  const lifetimeSeconds = Math.ceil((timeoutMs * 2) / 1000);
  const creating = await pods.createPod(
    namespace,
    buildShellPod({ name, image: target.image ?? '', lifetimeSeconds, runId: ctx.runId }),
  );
  const created = ctx.record(creating.result);
  // `owner`: the pod is not known to be this run's, so it is deleted only if labelled with its id.
  const deleted = async (outcome: TriggerOutcome, owner?: string) =>
    afterCleanup(outcome, ctx.record(await pods.deletePod(namespace, name, owner)), `deleting pod ${name}`);
  // Cancelled, timed out, or answered a 5xx (a webhook or an etcd write that timed out), the API
  // server may still have made the pod: deleted if it is this run's. Left, it stayed in the namespace
  // (its containers stopped at activeDeadlineSeconds, the Pod object Failed) until someone removed it.
  // Answered 409, the name is taken: by another run's pod (its id's first 8 hex digits are this
  // one's) or someone else's, deleted by name before; or by this run's own, should a retry have
  // followed a lost answer. Which, the pod's run-id label says.
  if (created.failed)
    return creating.mayExist ? deleted(failedWith(created), ctx.runId) : failedWith(created);
  const inPod = async (): Promise<TriggerOutcome> => {
    const running = ctx.record(await pods.waitForRunning(namespace, name, timeoutMs));
    if (running.failed) return failedWith(running);
    const result = ctx.record(await exec(name, SHELL_CONTAINER));
    return result.failed ? failedWith(result) : { ok: true };
  };
  let outcome: TriggerOutcome = { ok: false, error: 'internal error while running the trigger' };
  try {
    outcome = await inPod();
  } finally {
    outcome = await deleted(outcome);
  }
  return outcome;
}

/** Spawns a shell with a terminal in a container, so Falco's "Terminal shell in container" fires. */
export function runShellTrigger(
  target: ShellTarget,
  nonce: string,
  ctx: TriggerContext,
): Promise<TriggerOutcome> {
  const command = buildShellCommand(nonce, target.terminal !== false);
  return target.backend === 'docker'
    ? runDockerShell(target, command, ctx)
    : runKubernetesShell(target, command, ctx);
}
