import { outputText, type FalcoAlert } from '../alerts/falco-alert-schema.js';
import type { RunPod } from './trigger-run.js';

/** The rule a terminal shell with a TTY triggers. */
export const TERMINAL_SHELL_RULE = 'Terminal shell in container';

function fieldText(alert: FalcoAlert, field: string): string | undefined {
  const fields = alert.output_fields;
  const value = fields && Object.hasOwn(fields, field) ? fields[field] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** True when the alert's cmdline (or, without output_fields, its output text) carries the nonce. */
export function alertCarriesNonce(alert: FalcoAlert, nonce: string): boolean {
  return (
    (fieldText(alert, 'proc.cmdline') ?? '').includes(nonce) || (outputText(alert) ?? '').includes(nonce)
  );
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * True when the alert comes from `namespace`: output_fields k8s.ns.name, else the
 * `k8s.ns=` / `k8s_ns_name=` token Falco prints in its output text.
 */
export function alertFromNamespace(alert: FalcoAlert, namespace: string): boolean {
  const field = fieldText(alert, 'k8s.ns.name');
  if (field !== undefined) return field === namespace;
  const token = new RegExp(`k8s[._]ns(?:[._]name)?=${escapeRegExp(namespace)}(?![A-Za-z0-9.-])`);
  return token.test(outputText(alert) ?? '');
}

// Falco's short container.id has 12 characters; a shorter "prefix" would match too much.
const MIN_CONTAINER_ID = 12;

// The value of `name=VALUE` (one of `names`) in Falco's output text, up to the next space.
function outputToken(alert: FalcoAlert, names: readonly string[]): string | undefined {
  for (const token of (outputText(alert) ?? '').split(' ')) {
    const equals = token.indexOf('=');
    if (equals > 0 && names.includes(token.slice(0, equals))) return token.slice(equals + 1);
  }
  return undefined;
}

/**
 * How an alert is tied to the run's pods, if it is: `identity` by its `k8s.pod.uid` or its
 * `container.id` (a prefix of a container id the API reported), which exist only since the run made
 * the pod; `name` by its pod name and namespace, which a later pod may carry again. From
 * output_fields, else from the `container_id=` / `k8s.pod=` tokens of the output text. Never
 * namespace alone.
 */
export function runPodTie(alert: FalcoAlert, pods: readonly RunPod[]): 'identity' | 'name' | undefined {
  const uid = fieldText(alert, 'k8s.pod.uid');
  const containerId =
    fieldText(alert, 'container.id') ?? outputToken(alert, ['container_id', 'container.id']);
  const identity = (pod: RunPod) =>
    (uid !== undefined && uid === pod.uid) ||
    (containerId !== undefined &&
      containerId.length >= MIN_CONTAINER_ID &&
      pod.containerIds.some((id) => id.startsWith(containerId)));
  if (pods.some(identity)) return 'identity';
  const podName =
    fieldText(alert, 'k8s.pod.name') ?? outputToken(alert, ['k8s.pod', 'k8s_pod_name', 'k8s.pod.name']);
  return pods.some((pod) => podName === pod.name && alertFromNamespace(alert, pod.namespace))
    ? 'name'
    : undefined;
}
