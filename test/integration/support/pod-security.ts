/**
 * The Pod Security Standards' checks (kubernetes.io/docs/concepts/security/pod-security-standards)
 * on a pod spec, for the fields our pods and the charts' pods set: what `baseline` and
 * `restricted` would refuse, one line each. Not the admission controller; a guard in tests.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- pod specs are free-form YAML here
type Spec = Record<string, any>;

const BASELINE_CAPABILITIES = new Set(
  'AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL MKNOD NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID SYS_CHROOT'.split(
    ' ',
  ),
);
const SAFE_SYSCTLS =
  /^(kernel\.shm_rmid_forced|net\.ipv4\.ip_local_port_range|net\.ipv4\.ip_unprivileged_port_start|net\.ipv4\.tcp_syncookies|net\.ipv4\.ping_group_range|net\.ipv4\.ip_local_reserved_ports|net\.ipv4\.tcp_keepalive_time|net\.ipv4\.tcp_fin_timeout|net\.ipv4\.tcp_keepalive_intvl|net\.ipv4\.tcp_keepalive_probes)$/;
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

function containersOf(spec: Spec): Spec[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

/** What the `baseline` level refuses in this pod spec. */
export function baselineViolations(spec: Spec): string[] {
  const found: string[] = [];
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[field]) found.push(`${field}: true`);
  for (const volume of spec.volumes ?? []) if (volume.hostPath) found.push(`hostPath volume ${volume.name}`);
  for (const sysctl of spec.securityContext?.sysctls ?? [])
    if (!SAFE_SYSCTLS.test(sysctl.name)) found.push(`sysctl ${sysctl.name}`);
  if (spec.securityContext?.seccompProfile?.type === 'Unconfined') found.push('pod seccomp Unconfined');
  for (const container of containersOf(spec)) {
    const context = container.securityContext ?? {};
    const name = container.name as string;
    if (context.privileged) found.push(`${name}: privileged`);
    for (const cap of context.capabilities?.add ?? [])
      if (!BASELINE_CAPABILITIES.has(cap)) found.push(`${name}: adds ${cap}`);
    for (const port of container.ports ?? [])
      if (port.hostPort) found.push(`${name}: hostPort ${port.hostPort}`);
    if (context.procMount && context.procMount !== 'Default')
      found.push(`${name}: procMount ${context.procMount}`);
    if (context.seccompProfile?.type === 'Unconfined') found.push(`${name}: seccomp Unconfined`);
  }
  return found;
}

/** What the `restricted` level refuses beyond `baseline`. */
export function restrictedViolations(spec: Spec): string[] {
  const pod = spec.securityContext ?? {};
  const found = baselineViolations(spec);
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (!type || !RESTRICTED_VOLUMES.has(type)) found.push(`${type} volume ${volume.name}`);
  }
  if (pod.runAsUser === 0) found.push('pod runAsUser 0');
  for (const container of containersOf(spec)) {
    const context = container.securityContext ?? {};
    const name = container.name as string;
    if (context.allowPrivilegeEscalation !== false) found.push(`${name}: allowPrivilegeEscalation not false`);
    if ((context.runAsNonRoot ?? pod.runAsNonRoot) !== true) found.push(`${name}: runAsNonRoot not true`);
    if (context.runAsUser === 0) found.push(`${name}: runAsUser 0`);
    const seccomp = context.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') found.push(`${name}: seccomp ${seccomp}`);
    if (!(context.capabilities?.drop ?? []).includes('ALL')) found.push(`${name}: does not drop ALL`);
    for (const cap of context.capabilities?.add ?? [])
      if (cap !== 'NET_BIND_SERVICE') found.push(`${name}: adds ${cap} (restricted)`);
  }
  return found;
}
