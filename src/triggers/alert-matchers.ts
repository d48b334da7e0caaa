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

// Falco's short container.id has 12 characters; a shorter "prefix" would match too much.
const MIN_CONTAINER_ID = 12;

const NAMESPACE_TOKENS = ['k8s.ns', 'k8s_ns', 'k8s.ns.name', 'k8s_ns_name'];
const CONTAINER_ID_TOKENS = ['container_id', 'container.id'];
const POD_NAME_TOKENS = ['k8s.pod', 'k8s_pod_name', 'k8s.pod.name'];
// What closes a token at the end of Falco's parenthesised field list: `image=nginx)`.
const TOKEN_END = /[),]+$/;

/**
 * A field from output_fields, or, only when Falco sent none (0.41+ with
 * json_include_output_fields_property: false), from the output text: the value of the LAST
 * `name=VALUE` token (one of `names`), up to the next space. Falco's rules print the workload's own
 * text (`command=%proc.cmdline`, `file=%fd.name`) before `container_id=` and the k8s fields, so a
 * process could name another container or pod in its command line: the first token would be its.
 * With output_fields present, a field it lacks is not in the text either, except as such forged text.
 */
function fieldOrToken(alert: FalcoAlert, field: string, names: readonly string[]): string | undefined {
  if (alert.output_fields !== undefined) return fieldText(alert, field);
  let value: string | undefined;
  for (const token of (outputText(alert) ?? '').split(' ')) {
    const equals = token.indexOf('=');
    if (equals > 0 && names.includes(token.slice(0, equals))) value = token.slice(equals + 1);
  }
  return value?.replace(TOKEN_END, '');
}

/**
 * True when the alert comes from `namespace`: output_fields k8s.ns.name, else the last
 * `k8s.ns=` / `k8s_ns_name=` token Falco prints in its output text.
 */
export function alertFromNamespace(alert: FalcoAlert, namespace: string): boolean {
  return fieldOrToken(alert, 'k8s.ns.name', NAMESPACE_TOKENS) === namespace;
}

/**
 * How an alert is tied to the run's pods, if it is: `identity` by its `k8s.pod.uid` or its
 * `container.id` (a prefix of a container id the API reported), which exist only since the run made
 * the pod; `name` by its pod name and namespace, which a later pod may carry again. From
 * output_fields, else (none sent) from the last `container_id=` / `k8s.pod=` tokens of the output
 * text. Never namespace alone.
 */
export function runPodTie(alert: FalcoAlert, pods: readonly RunPod[]): 'identity' | 'name' | undefined {
  const uid = fieldText(alert, 'k8s.pod.uid');
  const containerId = fieldOrToken(alert, 'container.id', CONTAINER_ID_TOKENS);
  const identity = (pod: RunPod) =>
    (uid !== undefined && uid === pod.uid) ||
    (containerId !== undefined &&
      containerId.length >= MIN_CONTAINER_ID &&
      pod.containerIds.some((id) => id.startsWith(containerId)));
  if (pods.some(identity)) return 'identity';
  const podName = fieldOrToken(alert, 'k8s.pod.name', POD_NAME_TOKENS);
  return pods.some((pod) => podName === pod.name && alertFromNamespace(alert, pod.namespace))
    ? 'name'
    : undefined;
}
