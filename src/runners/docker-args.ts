/** A docker shell target: a short-lived container from `image`, or an existing `container`. */
export type DockerShellTarget = { image: string; name: string } | { container: string };

/**
 * Runs `command` with a terminal (-t) so Falco's "Terminal shell in container" sees proc.tty != 0;
 * `terminal: false` (the negative control) leaves -t out. No -i: stdin stays closed, which docker
 * (unlike kubectl) accepts while still allocating the TTY. A new container is locked down: no
 * network, non-root, read-only, no capabilities, never pulled, and held to the Kubernetes trigger
 * pod's limits (kube-pods.ts: 100m CPU, 32 MiB, no swap) and 64 processes.
 */
export function buildDockerShellArgs(
  target: DockerShellTarget,
  command: readonly string[],
  options: { terminal?: boolean } = {},
): string[] {
  const tty = options.terminal === false ? [] : ['-t'];
  if ('container' in target) return ['docker', 'exec', ...tty, target.container, ...command];
  return [
    'docker',
    'run',
    '--rm',
    ...tty,
    '--name',
    target.name,
    '--pull',
    'never',
    '--network',
    'none',
    '--user',
    '65534:65534',
    '--read-only',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--memory',
    '32m',
    '--memory-swap',
    '32m',
    '--cpus',
    '0.1',
    '--pids-limit',
    '64',
    '--label',
    'app.kubernetes.io/managed-by=falco-alert-receiver',
    target.image,
    ...command,
  ];
}

/** Removes a short-lived container left behind by a run that timed out. */
export function buildDockerRemoveArgs(name: string): string[] {
  return ['docker', 'rm', '--force', name];
}
