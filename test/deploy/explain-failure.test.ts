import { describe, expect, it } from 'vitest';
import { explainFailure } from '../../src/deploy/deploy.js';
import {
  buildDeployPlan,
  buildPreflightSteps,
  buildRenderStep,
  DEFAULT_DEPLOY_OPTIONS,
} from '../../src/deploy/deploy-plan.js';
import type { CommandResult } from '../../src/runners/command-result.js';

const failed = (failure: NonNullable<CommandResult['failure']>, exitCode: number | null): CommandResult => ({
  argv: ['kubectl', 'kustomize', 'k8s/'],
  exitCode,
  durationMs: 10,
  timedOut: failure === 'timeout',
  failed: true,
  failure,
  output: 'error: something',
});

describe('explainFailure', () => {
  it.each([
    ['exit', 1, 'exited with code 1'],
    ['timeout', null, 'timed out after 60 s'],
    ['output-limit', null, 'printed more output than allowed and was stopped'],
    ['signal', null, 'was killed by a signal'],
  ] as const)(
    'tells how a step that failed by %s ended, never "exited with code null"',
    (failure, code, how) => {
      expect(explainFailure(buildRenderStep(DEFAULT_DEPLOY_OPTIONS), failed(failure, code))).toBe(
        `kubectl kustomize k8s/ ${how}: error: something`,
      );
    },
  );

  // Regression: a kubectl on PATH without the execute bit (EACCES) failed the cluster check as "No
  // reachable Kubernetes cluster: kubectl says """, and any other step as "<argv> is not executable".
  it.each([
    ['the cluster check', buildPreflightSteps(DEFAULT_DEPLOY_OPTIONS).find((step) => step.checksCluster)!],
    ['the render step', buildRenderStep(DEFAULT_DEPLOY_OPTIONS)],
    [
      'the Falco install',
      buildDeployPlan(DEFAULT_DEPLOY_OPTIONS).find((step) => step.args[0] === 'upgrade')!,
    ],
  ])('says the tool could not be run, and the fix, when %s finds it not executable', (_step, step) => {
    const result = { ...failed('not-executable', null), output: '' };

    expect(explainFailure(step, result)).toBe(
      `${step.command} could not be run: the ${step.command} on PATH is not executable (permission denied). Make it executable (chmod +x) or put an executable ${step.command} earlier on PATH, or run with --dry-run to print the commands.`,
    );
  });

  // A run that keeps stdout is told from stderr alone (run-command.ts), which a step killed or timed
  // out may leave empty: the line ended in a colon with nothing after it.
  it('tells a step that failed without a word on stderr by how it ended alone', () => {
    const silent = { ...failed('signal', null), output: '' };

    expect(explainFailure(buildRenderStep(DEFAULT_DEPLOY_OPTIONS), silent)).toBe(
      'kubectl kustomize k8s/ was killed by a signal',
    );
  });
});
