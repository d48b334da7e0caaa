import { describe, expect, it } from 'vitest';
import {
  buildDeployPlan,
  buildPreflightSteps,
  buildFalcoInstallArgs,
  buildKustomizeApplyArgs,
  buildRolloutStatusArgs,
  DEFAULT_DEPLOY_OPTIONS,
} from '../../src/deploy/deploy-plan.js';

describe('deploy plan builders', () => {
  it('installs Falco from the falcosecurity repo with our values, pinned chart and created namespace', () => {
    const args = buildFalcoInstallArgs({ ...DEFAULT_DEPLOY_OPTIONS, falcoChartVersion: '3.1.4' });

    expect(args).toEqual([
      'upgrade',
      '--install',
      'falco',
      'falcosecurity/falco',
      '--namespace',
      'falco',
      '--create-namespace',
      '--values',
      'helm-values/falco.yaml',
      '--version',
      '3.1.4',
    ]);
  });

  it('applies k8s/ with kustomize and waits with a bounded rollout timeout', () => {
    expect(buildKustomizeApplyArgs(DEFAULT_DEPLOY_OPTIONS)).toEqual(['apply', '--kustomize', 'k8s/']);
    expect(buildRolloutStatusArgs(DEFAULT_DEPLOY_OPTIONS, 'deployment/falco-alert-receiver')).toEqual([
      'rollout',
      'status',
      'deployment/falco-alert-receiver',
      '--namespace',
      'falco',
      '--timeout=300s',
    ]);
  });

  it('orders the steps: repo, index, Falco, receiver, then both rollouts, each with a timeout', () => {
    const plan = buildDeployPlan(DEFAULT_DEPLOY_OPTIONS);

    expect(plan.map((step) => `${step.command} ${step.args.slice(0, 2).join(' ')}`)).toEqual([
      'helm repo add',
      'helm repo update',
      'helm upgrade --install',
      'kubectl apply --kustomize',
      'kubectl rollout status',
      'kubectl rollout status',
    ]);
    expect(plan.at(-2)?.args).toContain('deployment/falco-alert-receiver');
    expect(plan.at(-1)?.args).toContain('daemonset/falco');
    // The process timeout outlives kubectl's own --timeout, so kubectl reports the failure itself.
    for (const step of plan.slice(-2)) expect(step.timeoutMs).toBeGreaterThan(300_000);
  });

  it('checks before any change that a local chart archive is readable (air-gapped), and only then', () => {
    const local = buildPreflightSteps({ ...DEFAULT_DEPLOY_OPTIONS, chartsDir: 'charts' });
    const remote = buildPreflightSteps(DEFAULT_DEPLOY_OPTIONS);

    expect(local.map((step) => [step.command, ...step.args].join(' '))).toContain(
      `helm show chart charts/falco-${DEFAULT_DEPLOY_OPTIONS.falcoChartVersion}.tgz`,
    );
    expect(local.some((step) => step.checksCluster)).toBe(true);
    expect(remote.some((step) => step.args[0] === 'show')).toBe(false);
  });
});
