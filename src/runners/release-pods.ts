import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { loadKubeClient } from './kube-client.js';

/** A pod the run started, as the Kubernetes API reported it: what its alerts must come from. */
export interface RunPod {
  namespace: string;
  name: string;
  uid: string;
  /** Container ids without the runtime prefix (`containerd://`), once the containers started. */
  containerIds: string[];
}

/** The label every pod of a helm release carries (event-generator's chart sets it on the Job's pods). */
export const releaseSelector = (release: string) => `app.kubernetes.io/instance=${release}`;

// "containerd://0123abcd..." → "0123abcd...": Falco's container.id is (a prefix of) the bare id.
const bareContainerId = (id: string) => id.replace(/^[a-z0-9-]+:\/\//, '');

/** A pod as a run keeps it: name, uid and the ids of its started containers. */
export function toRunPod(namespace: string, pod: V1Pod): RunPod | undefined {
  const name = pod.metadata?.name;
  const uid = pod.metadata?.uid;
  if (!name || !uid) return undefined;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const containerIds = statuses
    .map((status) => status.containerID)
    .filter((id): id is string => typeof id === 'string' && id !== '')
    .map(bareContainerId);
  return { namespace, name, uid, containerIds };
}

/** Lists the pods of a helm release in `namespace` through the Kubernetes API. */
export async function listReleasePods(
  kubeConfig: KubeConfig,
  namespace: string,
  release: string,
): Promise<RunPod[]> {
  const { CoreV1Api } = await loadKubeClient();
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const list = await api.listNamespacedPod({ namespace, labelSelector: releaseSelector(release) });
  return list.items.map((pod) => toRunPod(namespace, pod)).filter((pod): pod is RunPod => pod !== undefined);
}

/** The last `tailLines` lines of every container of a pod, through the Kubernetes API (no kubectl). */
export async function readPodLogs(kubeConfig: KubeConfig, pod: RunPod, tailLines: number): Promise<string> {
  const { CoreV1Api } = await loadKubeClient();
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const read = await api.readNamespacedPod({ name: pod.name, namespace: pod.namespace });
  const containers = [
    ...(read.spec?.initContainers ?? []).map((container) => container.name),
    ...(read.spec?.containers ?? []).map((container) => container.name),
  ];
  const logs: string[] = [];
  for (const container of containers.length > 0 ? containers : [undefined]) {
    const text = await api.readNamespacedPodLog({
      name: pod.name,
      namespace: pod.namespace,
      container,
      tailLines,
    });
    logs.push(containers.length > 1 ? `[${container}]\n${text}` : text);
  }
  return logs.join('\n');
}
