import { releaseSelector } from './release-pods.js';

/** `kubectl logs` of the pods a helm release created, so a run keeps event-generator's output. */
export function buildKubectlLogsArgs(options: {
  release: string;
  namespace: string;
  tail: number;
  kubeconfig?: string;
}): string[] {
  return [
    'kubectl',
    'logs',
    '--namespace',
    options.namespace,
    '--selector',
    releaseSelector(options.release),
    '--all-containers',
    '--tail',
    String(options.tail),
    ...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []),
  ];
}
