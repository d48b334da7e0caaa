import type { CommandResult } from '../runners/command-result.js';
import { buildHelmInstallArgs, buildHelmUninstallArgs } from '../runners/helm-args.js';
import { runKubeStep, StepFailure } from '../runners/kube-step.js';
import { readPodLogs, releaseSelector, type RunPod } from '../runners/release-pods.js';
import { GENERATOR_ACTIONS } from './data/event-generator-actions.js';
import { watchReleasePods } from './watch-release-pods.js';
import { failureReason, type TriggerContext, type TriggerOutcome } from './trigger-context.js';

// How often the Kubernetes API is asked for the Job's pods while helm waits.
const POD_POLL_MS = 1_000;
// The log lines kept per pod, and the most pods whose logs a run keeps.
const LOG_TAIL_LINES = 200;
const MAX_LOGGED_PODS = 3;
const LOGS_TIMEOUT_MS = 30_000;

/** Helm release name of a run: unique per run, a valid release name (lowercase, <= 53 chars). */
export const releaseName = (runId: string) => `falco-eg-${runId.slice(0, 8)}`;

/**
 * Whether helm refused the install because a release of that name is already in the namespace: not
 * this run's (its name holds only 8 hex digits of the id; another run's, or anyone's), so its
 * cleanup must leave it alone. helm's own words (pkg/action/install.go, availableName).
 */
export const releaseNameTaken = (install: Pick<CommandResult, 'failed' | 'output'>): boolean =>
  install.failed && install.output.includes('cannot re-use a name that is still in use');

/**
 * The cleanup of a run's release (after its install, or for an orphaned run: remove-leftovers.ts):
 * never cancelled, helm's own --timeout inside ours.
 */
export function uninstallRelease(
  ctx: Pick<TriggerContext, 'run'>,
  release: { release: string; namespace: string; kubeconfig?: string },
) {
  return ctx.run(buildHelmUninstallArgs({ ...release, timeoutSeconds: 60 }), {
    cancellable: false,
    timeoutMs: 75_000,
  });
}

/**
 * Installs event-generator as a one-shot Job (helm waits for it), keeps its logs, and uninstalls
 * the release afterwards, also when the install failed or timed out.
 */
export async function runEventGeneratorTrigger(
  request: { namespace: string; actions: string },
  ctx: TriggerContext,
): Promise<TriggerOutcome> {
  const { config } = ctx;
  const release = releaseName(ctx.runId);
  const timeoutSeconds = Math.max(1, Math.floor(config.commandTimeoutMs / 1000));
  const common = { release, namespace: request.namespace, kubeconfig: config.kubeconfig };
  const source = {
    chart: config.eventGenerator.chart,
    repo: config.eventGenerator.repo,
    version: config.eventGenerator.chartVersion,
  };
  // The Job's pods, learned while helm waits for it: only their alerts can verify this run.
  const kube = await ctx.kubeConfig();
  // With no kubeconfig anywhere helm would fall back to http://localhost:8080, this receiver's own
  // default address, so refuse as the shell trigger does. A TRIGGER_KUBECONFIG helm is given, and
  // says itself why it cannot reach that cluster.
  if (!kube.ok && config.kubeconfig === undefined) return { ok: false, error: kube.reason };
  const watcher = kube.ok
    ? watchReleasePods({
        kubeConfig: kube.value,
        namespace: request.namespace,
        release,
        pollMs: POD_POLL_MS,
        onPods: (pods) => ctx.notePods(pods),
      })
    : undefined;
  // helm's own --timeout ends the wait; ours is a little longer so helm reports what it waited for.
  const install = ctx.record(
    await ctx.run(
      buildHelmInstallArgs({
        ...common,
        source,
        actions: request.actions,
        imageTag: GENERATOR_ACTIONS[config.eventGenerator.version].imageTag,
        timeoutSeconds,
        postRenderer: config.eventGenerator.postRenderer,
        privileged: config.eventGenerator.privileged,
      }),
      {
        timeoutMs: config.commandTimeoutMs + 15_000,
      },
    ),
  );
  let seenPods: RunPod[] = [];
  const pods = ctx.record(
    await runKubeStep(
      ['k8s', 'list-pods', '-n', request.namespace, '-l', releaseSelector(release)],
      async () => {
        const seen = watcher ? await watcher.stop() : { pods: [], error: kube.ok ? undefined : kube.reason };
        // The watcher's error is described already; no pod at all is no API call's failure.
        if (seen.pods.length === 0) throw new StepFailure(seen.error ?? `no pod of ${release} was seen`);
        seenPods = seen.pods;
        return seen.pods.map((pod) => pod.name).join('\n');
      },
      { maxOutputChars: config.outputMaxChars, timeoutMs: config.commandTimeoutMs },
    ),
  );
  // event-generator's output, read through the API (the image carries no kubectl).
  if ((install.exitCode !== null || install.timedOut) && kube.ok) {
    for (const pod of seenPods.slice(0, MAX_LOGGED_PODS)) {
      ctx.record(
        await runKubeStep(
          ['k8s', 'logs', '-n', pod.namespace, pod.name, '--tail', String(LOG_TAIL_LINES)],
          () => readPodLogs(kube.value, pod, LOG_TAIL_LINES),
          { maxOutputChars: config.outputMaxChars, timeoutMs: LOGS_TIMEOUT_MS },
        ),
      );
    }
  }
  // A release the uninstall could not remove is still in the cluster: named whatever failed first
  // (unless for the same reason, helm missing). One this run did not install is left as it is.
  let left: string | undefined;
  let uninstall: CommandResult | undefined;
  if (releaseNameTaken(install)) left = `release ${release} is not this run's (left alone)`;
  else {
    uninstall = ctx.record(await uninstallRelease(ctx, common));
    if (uninstall.failed) left = `uninstall of ${release} failed: ${uninstall.reason ?? ''}`.trim();
  }
  const first = install.failed
    ? failureReason(install)
    : pods.failed
      ? // Without the Job's pods no alert can be tied to the run: failed (not_run), never missed.
        `the pods of ${release}: ${pods.reason ?? ''}`.trim()
      : undefined;
  if (first === undefined) return left === undefined ? { ok: true } : { ok: false, error: left };
  const alsoLeft = left !== undefined && uninstall?.reason !== install.reason;
  return { ok: false, error: alsoLeft ? `${first}; ${left}` : first };
}
