import { describe, expect, it } from 'vitest';
import { explainFailure } from '../../src/deploy/deploy.js';
import { buildRenderStep, DEFAULT_DEPLOY_OPTIONS } from '../../src/deploy/deploy-plan.js';
import type { CommandResult } from '../../src/runners/command-result.js';

/** What kubectl kustomize left behind when it wrote a Secret and then failed. */
function renderFailure(failure: 'exit' | 'timeout'): CommandResult {
  return {
    argv: ['kubectl', 'kustomize', 'k8s/'],
    exitCode: failure === 'exit' ? 1 : null,
    durationMs: 60_000,
    timedOut: failure === 'timeout',
    failed: true,
    failure,
    output: 'error: kustomize failed\napiVersion: v1\nkind: Secret\nstringData:\n  token: s3cr3t-token',
  };
}

describe('explainFailure', () => {
  // Regression (a review): it quoted the last line of stdout and stderr together, and the render
  // step's stdout is the manifests, so a Secret's value written before the failure was printed.
  it.each([
    ['exit', 'exited with code 1'],
    ['timeout', 'timed out after 60 s'],
  ] as const)("says the render step's %s without quoting its output", (failure, why) => {
    const message = explainFailure(buildRenderStep(DEFAULT_DEPLOY_OPTIONS), renderFailure(failure));

    expect(message).toBe(
      `kubectl kustomize k8s/ ${why} (its output, the manifests with their Secrets, is not shown: run it with >/dev/null to see its error)`,
    );
  });
});
