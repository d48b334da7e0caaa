import type { KubeConfig } from '@kubernetes/client-node';
import { describeApiError } from '../runners/kube-step.js';
import { listReleasePods } from '../runners/release-pods.js';
import { withDeadline } from '../store/with-deadline.js';
import type { RunPod } from './trigger-run.js';

// Longest wait for one answer of the API server while listing the pods (by default).
const LIST_TIMEOUT_MS = 15_000;

/** What polling saw: every pod of the release (by uid), and the last API error if the last call failed. */
export interface ReleasePodsSeen {
  pods: RunPod[];
  error?: string;
}

/**
 * Polls the Kubernetes API for the pods of `release` every `pollMs` while helm installs it, and
 * hands each answer to `onPods`, so alerts can be tied to the Job's pods while it still runs.
 * `stop()` lists once more (pods that only just started their containers) and ends the polling.
 */
export function watchReleasePods(options: {
  kubeConfig: KubeConfig;
  namespace: string;
  release: string;
  pollMs: number;
  /** Longest wait for one list answer; a silent API server then counts as an error. */
  listTimeoutMs?: number;
  onPods(pods: RunPod[]): void;
}) {
  const seen = new Map<string, RunPod>();
  let error: string | undefined;
  let stopped = false;
  let wake = () => undefined as void;
  const poll = async () => {
    try {
      // A silent API server must not hold the run (and its helm uninstall) forever.
      const pods = await withDeadline(
        listReleasePods(options.kubeConfig, options.namespace, options.release),
        options.listTimeoutMs ?? LIST_TIMEOUT_MS,
        'listing the release pods',
      );
      error = undefined;
      for (const pod of pods) seen.set(pod.uid, pod);
      if (pods.length > 0) options.onPods(pods);
    } catch (failure) {
      error = describeApiError(failure);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await poll();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return {
    async stop(): Promise<ReleasePodsSeen> {
      stopped = true;
      wake();
      await loop;
      await poll();
      return { pods: [...seen.values()], ...(error === undefined ? {} : { error }) };
    },
  };
}
