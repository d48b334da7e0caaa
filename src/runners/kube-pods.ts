import type { ConfigurationOptions, CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import { loadKubeClient, type KubeClientModule } from './kube-client.js';
import type { CommandResult } from './command-result.js';
import { refusedForGood, runKubeStep } from './kube-step.js';

/** The container name of every short-lived trigger pod. */
export const SHELL_CONTAINER = 'shell';

/**
 * The label naming the run that made a trigger pod: its name holds only 8 hex digits of the run id,
 * so a pod found under it after a create whose answer did not say (a 409, a timeout, a 5xx) is this
 * run's only if it carries this label.
 */
export const RUN_ID_LABEL = 'falco-alert-receiver/run-id';

/**
 * A short-lived pod that only sleeps until the trigger execs into it: non-root, no privilege
 * escalation, no capabilities, read-only root, no service-account token, never restarted.
 */
export function buildShellPod(options: {
  name: string;
  image: string;
  lifetimeSeconds: number;
  runId: string;
}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name,
      labels: {
        'app.kubernetes.io/managed-by': 'falco-alert-receiver',
        'app.kubernetes.io/component': 'trigger-shell',
        [RUN_ID_LABEL]: options.runId,
      },
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      // Its containers are stopped even if we die before deleting it (the Pod object stays, Failed).
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

/** Client options that abort a Kubernetes API call when `signal` fires. */
function abortingOn(lib: KubeClientModule, signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new lib.Observable(Promise.resolve(context));
        },
        post: (context) => new lib.Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/**
 * Pod create / wait / delete through the Kubernetes API, each reported as a step of the run. Each
 * step ends by `timeoutMs` (the wait by its own timeout); create and wait also when `signal` fires.
 */
export function createPodLifecycle(
  kubeConfig: KubeConfig,
  options: { maxOutputChars: number; pollMs: number; timeoutMs: number; signal?: AbortSignal },
) {
  let client: Promise<{ lib: KubeClientModule; core: CoreV1Api }> | undefined;
  const connect = () =>
    (client ??= loadKubeClient().then((lib) => ({ lib, core: kubeConfig.makeApiClient(lib.CoreV1Api) })));
  // The API, and options that abort its call when `signal` fires.
  const api = async (signal: AbortSignal) => {
    const { lib, core } = await connect();
    return { core, until: abortingOn(lib, signal) };
  };
  const step = (
    argv: string[],
    fn: (signal: AbortSignal) => Promise<string | void>,
    { timeoutMs = options.timeoutMs, cancellable = true } = {},
  ) =>
    runKubeStep(argv, fn, {
      maxOutputChars: options.maxOutputChars,
      timeoutMs,
      signal: cancellable ? options.signal : undefined,
    });
  return {
    // `mayExist`: whether the pod may have been made, though the step failed (see refusedForGood).
    async createPod(namespace: string, pod: V1Pod): Promise<{ result: CommandResult; mayExist: boolean }> {
      let refused = false;
      const result = await step(
        [
          'k8s',
          'create-pod',
          '-n',
          namespace,
          pod.metadata?.name ?? '',
          `--image=${pod.spec?.containers[0]?.image ?? ''}`,
        ],
        async (signal) => {
          const { core, until } = await api(signal);
          try {
            await core.createNamespacedPod({ namespace, body: pod }, until);
          } catch (error) {
            refused = refusedForGood(error);
            throw error;
          }
          return 'pod created';
        },
      );
      return { result, mayExist: !refused };
    },
    waitForRunning(namespace: string, name: string, timeoutMs: number): Promise<CommandResult> {
      return step(
        ['k8s', 'wait-pod-running', '-n', namespace, name],
        async (signal) => {
          for (;;) {
            const { core, until } = await api(signal);
            const current = await core.readNamespacedPod({ namespace, name }, until);
            const phase = current.status?.phase ?? 'Unknown';
            if (phase === 'Running') return 'pod is Running';
            if (phase === 'Failed' || phase === 'Succeeded')
              throw new Error(`pod ended (${phase}) before the shell could run`);
            if (signal.aborted) throw signal.reason as Error;
            await sleep(options.pollMs);
          }
        },
        { timeoutMs },
      );
    },
    /**
     * Cleanup: shutdown does not cancel it (as helm uninstall and docker rm), only its deadline ends
     * it. With `runId`, the pod is not known to be the run's (its create failed, or the run is an
     * orphan's): it is read first and deleted only if labelled with that run id, by its uid, so a pod
     * of another run or someone else under the same name is left alone.
     */
    deletePod(namespace: string, name: string, runId?: string): Promise<CommandResult> {
      return step(
        ['k8s', 'delete-pod', '-n', namespace, name],
        async (signal) => {
          const { core, until } = await api(signal);
          let uid: string | undefined;
          try {
            if (runId !== undefined) {
              const found = await core.readNamespacedPod({ namespace, name }, until);
              if (found.metadata?.labels?.[RUN_ID_LABEL] !== runId)
                return `pod ${name} is not this run's (left alone)`;
              uid = found.metadata?.uid;
            }
            // A delete with a body takes its options from the body alone (the query's grace period
            // is then ignored, and the pod would terminate for 30 s under its name): both go there.
            const body = uid === undefined ? undefined : { gracePeriodSeconds: 0, preconditions: { uid } };
            await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0, body }, until);
          } catch (error) {
            // Already gone (a create that timed out before the API server made it): nothing is left.
            const code = (error as { code?: unknown } | null)?.code;
            if (code === 404) return 'pod not found (nothing to delete)';
            // The uid precondition failed: the pod read is gone, and another took its name meanwhile.
            if (code === 409 && uid !== undefined) return `pod ${name} is not this run's (left alone)`;
            throw error;
          }
          return 'pod deleted';
        },
        { cancellable: false },
      );
    },
  };
}

export type PodLifecycle = ReturnType<typeof createPodLifecycle>;
