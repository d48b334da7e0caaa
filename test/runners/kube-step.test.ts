import { describe, expect, it } from 'vitest';
import { runKubeStep, StepFailure } from '../../src/runners/kube-step.js';

const OPTIONS = { maxOutputChars: 1000, timeoutMs: 5_000 };

describe('a Kubernetes API step', () => {
  // Regression: a run whose Job showed no pod said "Kubernetes API call failed: no pod of ... was
  // seen", though no call had failed.
  it("reports the step's own finding as it is", async () => {
    const result = await runKubeStep(
      ['k8s', 'list-pods'],
      () => Promise.reject(new StepFailure('no pod of falco-eg-1 was seen')),
      OPTIONS,
    );

    expect(result).toMatchObject({ failed: true, exitCode: null, reason: 'no pod of falco-eg-1 was seen' });
  });

  it('describes an API error as one', async () => {
    const apiError = Object.assign(new Error('HTTP-Code: 403'), {
      code: 403,
      body: '{"message":"forbidden"}',
    });
    const result = await runKubeStep(['k8s', 'list-pods'], () => Promise.reject(apiError), OPTIONS);

    expect(result).toMatchObject({ failed: true, reason: 'the Kubernetes API answered 403: forbidden' });
  });
});
