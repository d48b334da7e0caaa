import type { CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import { loadKubeClient } from './kube-client.js';
import type { CommandResult } from './command-result.js';
import { runKubeStep } from './kube-step.js';

/** The container name of every short-lived trigger pod. */
export const SHELL_CONTAINER = 'shell';

/**
 * A short-lived pod that only sleeps until the trigger execs into it: non-root, no privilege
 * escalation, no capabilities, read-only root, no service-account token, never restarted.
 */
export function buildShellPod(options: { name: string; image: string; lifetimeSeconds: number }): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name,
      labels: {
        'app.kubernetes.io/managed-by': 'falco-alert-receiver',
        'app.kubernetes.io/component': 'trigger-shell',
      },
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      // The pod removes itself even if we die before deleting it.
      activeDeadlineSeconds: options.lifetimeSeconds,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65534,
        runAsGroup: 65534,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: SHELL_CONTAINER,
          image: options.image,
          command: ['sleep', String(options.lifetimeSeconds)],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          resources: { limits: { cpu: '100m', memory: '32Mi' }, requests: { cpu: '10m', memory: '8Mi' } },
        },
      ],
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pod create / wait / delete through the Kubernetes API, each reported as a step of the run. */
export function createPodLifecycle(
  kubeConfig: KubeConfig,
  options: { maxOutputChars: number; pollMs: number },
) {
  let client: Promise<CoreV1Api> | undefined;
  const api = () => (client ??= loadKubeClient().then(({ CoreV1Api: Api }) => kubeConfig.makeApiClient(Api)));
  const step = (argv: string[], fn: () => Promise<string | void>) =>
    runKubeStep(argv, fn, options.maxOutputChars);
  return {
    createPod(namespace: string, pod: V1Pod): Promise<CommandResult> {
      return step(
        [
          'k8s',
          'create-pod',
          '-n',
          namespace,
          pod.metadata?.name ?? '',
          `--image=${pod.spec?.containers[0]?.image ?? ''}`,
        ],
        async () => {
          await (await api()).createNamespacedPod({ namespace, body: pod });
          return 'pod created';
        },
      );
    },
    waitForRunning(namespace: string, name: string, timeoutMs: number): Promise<CommandResult> {
      return step(['k8s', 'wait-pod-running', '-n', namespace, name], async () => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const current = await (await api()).readNamespacedPod({ namespace, name });
          const phase = current.status?.phase ?? 'Unknown';
          if (phase === 'Running') return 'pod is Running';
          if (phase === 'Failed' || phase === 'Succeeded')
            throw new Error(`pod ended (${phase}) before the shell could run`);
          if (Date.now() >= deadline)
            throw Object.assign(new Error('pod not running in time'), { name: 'TimeoutError' });
          await sleep(options.pollMs);
        }
      });
    },
    deletePod(namespace: string, name: string): Promise<CommandResult> {
      return step(['k8s', 'delete-pod', '-n', namespace, name], async () => {
        await (await api()).deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
        return 'pod deleted';
      });
    },
  };
}

export type PodLifecycle = ReturnType<typeof createPodLifecycle>;
