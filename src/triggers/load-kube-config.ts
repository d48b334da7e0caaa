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
    return { ok: false, reason: `cannot load the kubeconfig: ${describeLoadError(error)}` };
  }
}

/**
 * Why the library could not load a kubeconfig. It reads the file with js-yaml, whose message (and
 * reason: an unknown tag, an alias) quotes the file, which holds tokens and client keys; the reason
 * becomes a trigger run's error, logged and answered. So a YAML error is told by its place only
 * (js-yaml counts from 0); the library's own messages (a missing field, a file it cannot read)
 * name fields and paths.
 */
function describeLoadError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name !== 'YAMLException') return error.message;
  const mark = (error as { mark?: { line?: unknown; column?: unknown } }).mark;
  return typeof mark?.line === 'number' && typeof mark.column === 'number'
    ? `not YAML (line ${mark.line + 1}, column ${mark.column + 1})`
    : 'not YAML';
}
