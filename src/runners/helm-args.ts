/** Where the event-generator chart comes from: a repository URL, an OCI reference or a local path. */
export interface ChartSource {
  /** Chart name (with `repo`), `oci://...` reference, or a local directory/archive path. */
  chart: string;
  /** Repository URL for `--repo`; absent for OCI references and local paths. */
  repo?: string;
  /** Chart version; absent for local paths. */
  version?: string;
}

export interface HelmInstallOptions {
  release: string;
  namespace: string;
  source: ChartSource;
  /** event-generator's actions regex (already validated to a safe character set). */
  actions: string;
  /** The event-generator image tag: the version whose actions the run expects. */
  imageTag: string;
  timeoutSeconds: number;
  kubeconfig?: string;
  /** helm --post-renderer: a plugin name (Helm 4) or an executable (Helm 3); see k8s/components/triggers. */
  postRenderer?: string;
  /** Make the Job's container privileged (TRIGGER_EVENT_GENERATOR_PRIVILEGED). */
  privileged?: boolean;
}

function commonArgs(namespace: string, kubeconfig: string | undefined): string[] {
  return ['--namespace', namespace, ...(kubeconfig ? ['--kubeconfig', kubeconfig] : [])];
}

function sourceArgs(source: ChartSource): string[] {
  return [
    ...(source.repo ? ['--repo', source.repo] : []),
    ...(source.version ? ['--version', source.version] : []),
  ];
}

/**
 * The actions regex as event-generator gets it. The chart writes it unquoted into the Job's
 * command (`- {{ .Values.config.actions }}`): `--loop` would become a flag of event-generator,
 * `123`, `yes`, `null` or `[a-z]` another YAML type. A regex that starts with `^` is none of
 * these; any other is given one that matches the same names: `^.*(X)` (Go's regexp finds X
 * anywhere, as `.*` before it does).
 */
export function actionsArgument(actions: string): string {
  return actions.startsWith('^') ? actions : `^.*(${actions})`;
}

/**
 * The chart values for a one-shot run: a Job (loop=false) running the selected actions of the
 * event-generator image `imageTag` (the charts' own default is "latest"). The regex and the tag go
 * through --set-string so helm itself never reads them as a number, list or bool. `privileged`
 * sets the container's securityContext.privileged (both charts take it; neither sets it for `run`),
 * which event-generator's CAP_SYS_ADMIN actions need.
 */
export function buildHelmValueArgs(
  actions: string,
  imageTag: string,
  pod: { privileged?: boolean } = {},
): string[] {
  return [
    '--set',
    'config.loop=false',
    '--set-string',
    `config.actions=${actionsArgument(actions)}`,
    '--set-string',
    `image.tag=${imageTag}`,
    ...(pod.privileged ? ['--set', 'securityContext.privileged=true'] : []),
  ];
}

/** `--post-renderer` when one is configured: it edits what the chart renders before helm applies it. */
export function buildPostRendererArgs(postRenderer: string | undefined): string[] {
  return postRenderer ? ['--post-renderer', postRenderer] : [];
}

/** `helm install` of event-generator as a Job, waiting until the Job completes or the timeout. */
export function buildHelmInstallArgs(options: HelmInstallOptions): string[] {
  return [
    'helm',
    'install',
    options.release,
    options.source.chart,
    ...sourceArgs(options.source),
    ...commonArgs(options.namespace, options.kubeconfig),
    ...buildHelmValueArgs(options.actions, options.imageTag, { privileged: options.privileged }),
    ...buildPostRendererArgs(options.postRenderer),
    '--wait',
    '--wait-for-jobs',
    '--timeout',
    `${options.timeoutSeconds}s`,
  ];
}

/** `helm template` with the same chart and values: renders offline what install would apply. */
export function buildHelmTemplateArgs(options: Omit<HelmInstallOptions, 'timeoutSeconds'>): string[] {
  return [
    'helm',
    'template',
    options.release,
    options.source.chart,
    ...sourceArgs(options.source),
    '--namespace',
    options.namespace,
    ...buildHelmValueArgs(options.actions, options.imageTag, { privileged: options.privileged }),
    ...buildPostRendererArgs(options.postRenderer),
  ];
}

/** `helm uninstall`, run after every install attempt, also a failed or timed-out one. */
export function buildHelmUninstallArgs(options: {
  release: string;
  namespace: string;
  timeoutSeconds: number;
  kubeconfig?: string;
}): string[] {
  return [
    'helm',
    'uninstall',
    options.release,
    ...commonArgs(options.namespace, options.kubeconfig),
    '--ignore-not-found',
    '--wait',
    '--timeout',
    `${options.timeoutSeconds}s`,
  ];
}
