/** One external command of the deployment, as an argv array (never a shell string). */
export interface DeployStep {
  title: string;
  command: 'helm' | 'kubectl';
  args: string[];
  timeoutMs: number;
  /** Set on the check whose failure means "no cluster", so the message says so. */
  checksCluster?: boolean;
}

/** What the deploy command installs, and where. */
export interface DeployOptions {
  /** falcosecurity/falco chart version; the lab used 3.1.4. */
  falcoChartVersion: string;
  namespace: string;
  falcoValuesFile: string;
  kustomizeDir: string;
  /** Passed to kubectl rollout status. */
  rolloutTimeoutSeconds: number;
}

export const FALCO_REPO = { name: 'falcosecurity', url: 'https://falcosecurity.github.io/charts' };
export const RECEIVER_DEPLOYMENT = 'falco-alert-receiver';
/** The DaemonSet the falco chart creates for release `falco` (release name = chart name). */
export const FALCO_DAEMONSET = 'falco';

export const DEFAULT_DEPLOY_OPTIONS: DeployOptions = {
  falcoChartVersion: '9.1.0',
  namespace: 'falco',
  falcoValuesFile: 'helm-values/falco.yaml',
  kustomizeDir: 'k8s/',
  rolloutTimeoutSeconds: 300,
};

const MINUTE = 60_000;

export function buildHelmRepoAddArgs(): string[] {
  return ['repo', 'add', FALCO_REPO.name, FALCO_REPO.url, '--force-update'];
}

export function buildHelmRepoUpdateArgs(): string[] {
  return ['repo', 'update', FALCO_REPO.name];
}

export function buildFalcoInstallArgs(options: DeployOptions): string[] {
  return [
    'upgrade',
    '--install',
    'falco',
    `${FALCO_REPO.name}/falco`,
    '--namespace',
    options.namespace,
    '--create-namespace',
    '--values',
    options.falcoValuesFile,
    '--version',
    options.falcoChartVersion,
  ];
}

export function buildKustomizeApplyArgs(options: DeployOptions): string[] {
  return ['apply', '--kustomize', options.kustomizeDir];
}

export function buildRolloutStatusArgs(options: DeployOptions, resource: string): string[] {
  return [
    'rollout',
    'status',
    resource,
    '--namespace',
    options.namespace,
    `--timeout=${options.rolloutTimeoutSeconds}s`,
  ];
}

/** The lab's setup as steps: chart repo, Falco with our values, the receiver, then both rollouts. */
export function buildDeployPlan(options: DeployOptions): DeployStep[] {
  const rolloutMs = (options.rolloutTimeoutSeconds + 30) * 1000;
  return [
    {
      title: 'Add the falcosecurity chart repository',
      command: 'helm',
      args: buildHelmRepoAddArgs(),
      timeoutMs: 2 * MINUTE,
    },
    {
      title: 'Update the chart index',
      command: 'helm',
      args: buildHelmRepoUpdateArgs(),
      timeoutMs: 2 * MINUTE,
    },
    {
      title: `Install or upgrade Falco (chart ${options.falcoChartVersion}) with ${options.falcoValuesFile}`,
      command: 'helm',
      args: buildFalcoInstallArgs(options),
      timeoutMs: 10 * MINUTE,
    },
    {
      title: `Apply the receiver manifests (${options.kustomizeDir})`,
      command: 'kubectl',
      args: buildKustomizeApplyArgs(options),
      timeoutMs: 2 * MINUTE,
    },
    {
      title: 'Wait for the receiver rollout',
      command: 'kubectl',
      args: buildRolloutStatusArgs(options, `deployment/${RECEIVER_DEPLOYMENT}`),
      timeoutMs: rolloutMs,
    },
    {
      title: 'Wait for the Falco DaemonSet rollout',
      command: 'kubectl',
      args: buildRolloutStatusArgs(options, `daemonset/${FALCO_DAEMONSET}`),
      timeoutMs: rolloutMs,
    },
  ];
}

/** Checks before any change: both tools present, and a cluster kubectl can reach. */
export function buildPreflightSteps(): DeployStep[] {
  return [
    { title: 'helm is installed', command: 'helm', args: ['version', '--short'], timeoutMs: 30_000 },
    { title: 'kubectl is installed', command: 'kubectl', args: ['version', '--client'], timeoutMs: 30_000 },
    {
      title: 'a Kubernetes cluster is reachable',
      command: 'kubectl',
      args: ['version', '--request-timeout=10s'],
      timeoutMs: 30_000,
      checksCluster: true,
    },
  ];
}
