import { describe, expect, it } from 'vitest';
import { explainFailure } from '../../src/deploy/deploy.js';
import { buildRenderStep, DEFAULT_DEPLOY_OPTIONS } from '../../src/deploy/deploy-plan.js';
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

  // A run that keeps stdout is told from stderr alone (run-command.ts), which a step killed or timed
  // out may leave empty: the line ended in a colon with nothing after it.
  it('tells a step that failed without a word on stderr by how it ended alone', () => {
    const silent = { ...failed('signal', null), output: '' };

    expect(explainFailure(buildRenderStep(DEFAULT_DEPLOY_OPTIONS), silent)).toBe(
      'kubectl kustomize k8s/ was killed by a signal',
    );
  });
});
