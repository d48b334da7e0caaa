import { loadKubeClient } from '../runners/kube-client.js';
import type { TriggerContext } from './trigger-context.js';

/** The client configuration from TRIGGER_KUBECONFIG, else the library's defaults (in-cluster, KUBECONFIG, ~/.kube/config). */
export async function loadKubeConfig(path: string | undefined): ReturnType<TriggerContext['kubeConfig']> {
  try {
    const { KubeConfig } = await loadKubeClient();
    const kc = new KubeConfig();
    if (path) kc.loadFromFile(path);
    else {
      // Finding none of those, loadFromDefault ends by calling loadFromClusterAndUser with a
      // made-up http://localhost:8080 cluster, whose every call fails on its http scheme: leave
      // the configuration empty instead, so that it reads as none.
      kc.loadFromClusterAndUser = () => undefined;
      kc.loadFromDefault();
    }
    if (!kc.getCurrentCluster())
      return { ok: false, reason: 'no Kubernetes cluster configured (set TRIGGER_KUBECONFIG)' };
    return { ok: true, value: kc };
  } catch (error) {
    return {
      ok: false,
      reason: `cannot load the kubeconfig: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
