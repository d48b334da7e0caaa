import type { RunPod } from './trigger-run.js';

/** Pods a run keeps at most: a Job retries a few times, never hundreds. */
export const MAX_RUN_PODS = 32;

/**
 * `known` with `seen` added: a pod is known by its uid, and keeps every container id it ever
 * showed (a restarted container gets a new id; alerts of the old one still belong to the run).
 */
export function mergeRunPods(known: readonly RunPod[], seen: readonly RunPod[]): RunPod[] {
  const merged = known.map((pod) => ({ ...pod, containerIds: [...pod.containerIds] }));
  for (const pod of seen) {
    const same = merged.find((item) => item.uid === pod.uid);
    if (same) {
      for (const id of pod.containerIds) if (!same.containerIds.includes(id)) same.containerIds.push(id);
    } else if (merged.length < MAX_RUN_PODS) {
      merged.push({ ...pod, containerIds: [...pod.containerIds] });
    }
  }
  return merged;
}
