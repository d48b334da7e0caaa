import type { Logger } from 'pino';
import { releaseName, releaseNameTaken, uninstallRelease } from './event-generator-trigger.js';
import { podLifecycleOf, shortLivedName } from './shell-trigger.js';
import { failureReason, type TriggerContext } from './trigger-context.js';
import type { TriggerRun } from './trigger-run.js';

/** What a run makes and removes again in its cleanup: a helm release, a pod or a docker container. */
export type RunLeftovers =
  { release: string; namespace: string } | { pod: string; namespace: string } | { container: string };

/**
 * What `run` may have left behind if its cleanup did not end (shutdown cut it short): nothing for a
 * shell in an existing pod or container, which the run did not make.
 */
export function findRunLeftovers(run: TriggerRun): RunLeftovers | undefined {
  const { target } = run;
  const namespace = target.namespace ?? 'default';
  if (run.kind === 'event-generator') return { release: releaseName(run.id), namespace };
  if (target.pod !== undefined || target.container !== undefined) return undefined;
  const name = shortLivedName(run.id);
  return target.backend === 'docker' ? { container: name } : { pod: name, namespace };
}

// The cleanup steps a run records once what it made is gone (its replica may die after them).
const CLEANUP_STEPS = new Set(['uninstall', 'delete-pod']);

/**
 * What an orphaned run (its replica died before the run ended: adopt-orphans.ts) left that its
 * record says it made, to remove: its helm release (named by its id, installed once it started),
 * or its short-lived pod (deleted only if labelled with its id: kube-pods.ts). Nothing for a run
 * that never started or that recorded its cleanup, nor for a docker container: it is on the host of
 * the replica that died, whose `docker run --rm` removes it.
 */
export function findOrphanLeftovers(
  run: TriggerRun,
): Exclude<RunLeftovers, { container: string }> | undefined {
  const left = findRunLeftovers(run);
  if (left === undefined || 'container' in left || run.startedAt === undefined) return undefined;
  const cleaned = run.commands.some((step) => !step.failed && CLEANUP_STEPS.has(step.argv[1] ?? ''));
  // A release of its name that was there before it (helm refused the install) is not its to remove.
  const notMade = run.commands.some((step) => step.argv[1] === 'install' && releaseNameTaken(step));
  return cleaned || notMade ? undefined : left;
}

/**
 * Removes an orphaned run's leftovers with its trigger's own cleanup step (helm uninstall, the
 * pod's delete: same argv, timeouts, never cancelled), recorded on the run. Resolves with why it
 * failed (what it should have removed is still there), undefined once removed.
 */
export async function removeOrphanLeftovers(
  left: Exclude<RunLeftovers, { container: string }>,
  runId: string,
  ctx: TriggerContext,
): Promise<string | undefined> {
  if ('release' in left) {
    const removed = ctx.record(await uninstallRelease(ctx, { ...left, kubeconfig: ctx.config.kubeconfig }));
    return removed.failed ? failureReason(removed) : undefined;
  }
  const kube = await ctx.kubeConfig();
  if (!kube.ok) return kube.reason;
  const removed = ctx.record(
    await podLifecycleOf(kube.value, ctx).deletePod(left.namespace, left.pod, runId),
  );
  return removed.failed ? failureReason(removed) : undefined;
}

/** The leftovers in words an operator can act on. */
export function describeRunLeftovers(left: RunLeftovers): string {
  if ('release' in left) return `helm release ${left.release} in namespace ${left.namespace}`;
  if ('pod' in left) return `pod ${left.pod} in namespace ${left.namespace}`;
  return `docker container ${left.container}`;
}

/** The command that removes them by hand. */
export function buildLeftoversRemoval(left: RunLeftovers): string[] {
  if ('release' in left) return ['helm', 'uninstall', left.release, '--namespace', left.namespace];
  if ('pod' in left) return ['kubectl', 'delete', 'pod', left.pod, '--namespace', left.namespace];
  return ['docker', 'rm', '--force', left.container];
}

/**
 * Logs, as a warning, that shutdown cut `run`'s cleanup short (the process exits next, ending a
 * helm uninstall where it is) and what may be left to remove by hand; or, `marked` (an orphan's,
 * marked in the shared store as it was settled: leftover-removals.ts), that another replica
 * removes. Returns the run's error.
 */
export function warnCleanupCut(logger: Logger, run: TriggerRun, graceMs: number, marked = false): string {
  const left = findRunLeftovers(run);
  const what = left ? `${describeRunLeftovers(left)} may be left` : 'it made nothing that could be left';
  const removal = !left
    ? ''
    : marked
      ? ' until another replica removes it (marked in the shared store: a sweep of any replica does while the run is kept)'
      : ` (remove it with: ${buildLeftoversRemoval(left).join(' ')})`;
  logger.warn(
    { runId: run.id, kind: run.kind, event: 'trigger_cleanup_cut', graceMs, ...left },
    `the receiver stopped before trigger run ${run.id} ended its cleanup: ${what}${removal}`,
  );
  return `still running after the shutdown grace (${graceMs} ms); ${what}`;
}
