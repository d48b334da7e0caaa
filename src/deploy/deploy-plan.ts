import path from 'node:path';
import type { RequiredSecret } from './required-secrets.js';

/** One external command of the deployment, as an argv array (never a shell string). */
export interface DeployStep {
  title: string;
  command: 'helm' | 'kubectl';
  args: string[];
  timeoutMs: number;
  /** Set on the check whose failure means "no cluster", so the message says so. */
  checksCluster?: boolean;
  /** What to do when this check fails (the command ran and said no). */
  fix?: string;
}

/** What the deploy command installs, and where. */
export interface DeployOptions {
  /** falcosecurity/falco chart version; the lab used 3.1.4. */
  falcoChartVersion: string;
  namespace: string;
  falcoValuesFile: string;
  /** Layered after falcoValuesFile, in order (e.g. helm-values/examples/falco-mtls.yaml). */
  extraValuesFiles: string[];
  /** Air-gapped: install falco-<version>.tgz from this folder; no chart repository is contacted. */
  chartsDir?: string;
  kustomizeDir: string;
  /** Passed to kubectl rollout status. */
  rolloutTimeoutSeconds: number;
}

export const FALCO_REPO = { name: 'falcosecurity', url: 'https://falcosecurity.github.io/charts' };
export const RECEIVER_DEPLOYMENT = 'falco-alert-receiver';
/** The Secret the receiver's pods mount the viewer tokens from (k8s/deployment.yaml: not optional). */
export const VIEWER_SECRET = 'falco-alert-receiver-viewer';
/** The DaemonSet the falco chart creates for release `falco` (release name = chart name). */
export const FALCO_DAEMONSET = 'falco';

export const DEFAULT_DEPLOY_OPTIONS: DeployOptions = {
  falcoChartVersion: '9.1.0',
  namespace: 'falco',
  falcoValuesFile: 'helm-values/falco.yaml',
  extraValuesFiles: [],
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

/** The local archive (with chartsDir) or the repository chart. */
export function falcoChartRef(options: DeployOptions): string {
  return options.chartsDir
    ? path.join(options.chartsDir, `falco-${options.falcoChartVersion}.tgz`)
    : `${FALCO_REPO.name}/falco`;
}

export function buildFalcoInstallArgs(options: DeployOptions): string[] {
  return [
    'upgrade',
    '--install',
    'falco',
    falcoChartRef(options),
    '--namespace',
    options.namespace,
    '--create-namespace',
    ...[options.falcoValuesFile, ...options.extraValuesFiles].flatMap((file) => ['--values', file]),
    // An archive carries its version in its name; --version only selects from a repository.
    ...(options.chartsDir ? [] : ['--version', options.falcoChartVersion]),
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
  const repositorySteps: DeployStep[] = [
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
  ];
  return [
    // Air-gapped (chartsDir): the archive is local, no repository to add or update.
    ...(options.chartsDir ? [] : repositorySteps),
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

/** Checks before any change: both tools present, a readable local chart archive, and a cluster kubectl can reach. */
export function buildPreflightSteps(options: DeployOptions): DeployStep[] {
  const archiveCheck: DeployStep = {
    title: `the chart archive ${falcoChartRef(options)} is readable`,
    command: 'helm',
    args: ['show', 'chart', falcoChartRef(options)],
    timeoutMs: 30_000,
  };
  return [
    { title: 'helm is installed', command: 'helm', args: ['version', '--short'], timeoutMs: 30_000 },
    ...(options.chartsDir ? [archiveCheck] : []),
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

/** Renders the manifests `kubectl apply --kustomize` would apply, without a cluster. */
export function buildRenderStep(options: DeployOptions): DeployStep {
  return {
    title: `the manifests in ${options.kustomizeDir} render`,
    command: 'kubectl',
    args: ['kustomize', options.kustomizeDir],
    timeoutMs: 60_000,
  };
}

function createSecretFix(secret: RequiredSecret): string {
  if (secret.name === VIEWER_SECRET) {
    return (
      `the receiver's pods mount the viewer tokens from it. Create it first: ` +
      `kubectl create namespace ${secret.namespace}; ` +
      `kubectl --namespace ${secret.namespace} create secret generic ${VIEWER_SECRET} ` +
      `--from-literal=tokens="$(openssl rand -hex 24)"`
    );
  }
  const keys = secret.keys.length > 0 ? ` (keys: ${secret.keys.join(', ')})` : '';
  return (
    `${secret.usedBy.join(' and ')} cannot start without it${keys}. ` +
    `Create it first, as k8s/README.md and the component's kustomization.yaml show`
  );
}

/**
 * One check per Secret the rendered manifests need and do not create: without it the pods wait in
 * ContainerCreating and the rollout only times out, after the chart and the manifests went in.
 */
export function buildSecretSteps(secrets: RequiredSecret[]): DeployStep[] {
  return secrets.map((secret) => ({
    title: `the Secret ${secret.name} exists in namespace ${secret.namespace}`,
    command: 'kubectl',
    args: ['get', 'secret', secret.name, '--namespace', secret.namespace, '--output=name'],
    timeoutMs: 30_000,
    fix: createSecretFix(secret),
  }));
}
