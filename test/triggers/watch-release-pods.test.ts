import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { watchReleasePods } from '../../src/triggers/watch-release-pods.js';
import { startKubeApiStandIn, type KubeApiStandIn } from '../helpers/kube-api-stand-in.js';

let standIn: KubeApiStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

function kubeConfigOf(path: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(path);
  return config;
}

describe('watching the pods of an event-generator release', () => {
  it('sees the pods of the release only, by label', async () => {
    standIn = await startKubeApiStandIn();
    standIn.addPod('falco-canary', {
      metadata: {
        name: 'falco-eg-1-abc',
        uid: 'uid-1',
        labels: { 'app.kubernetes.io/instance': 'falco-eg-1' },
      },
    });
    standIn.addPod('falco-canary', {
      metadata: { name: 'web-1', uid: 'uid-web', labels: { 'app.kubernetes.io/instance': 'web' } },
    });
    const watcher = watchReleasePods({
      kubeConfig: kubeConfigOf(standIn.kubeconfigPath),
      namespace: 'falco-canary',
      release: 'falco-eg-1',
      pollMs: 50,
      onPods: () => undefined,
    });

    const seen = await watcher.stop();

    expect(seen.pods.map((pod) => pod.name)).toEqual(['falco-eg-1-abc']);
    expect(seen.error).toBeUndefined();
  });

  // A silent API server held the run (and its helm uninstall, and the per-kind slot) forever.
  it('gives up on an API server that never answers, with the reason, instead of hanging the run', async () => {
    standIn = await startKubeApiStandIn();
    standIn.hold = /\/pods$/;
    const watcher = watchReleasePods({
      kubeConfig: kubeConfigOf(standIn.kubeconfigPath),
      namespace: 'falco-canary',
      release: 'falco-eg-2',
      pollMs: 50,
      listTimeoutMs: 300,
      onPods: () => undefined,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));

    const started = performance.now();
    const seen = await watcher.stop();

    expect(performance.now() - started).toBeLessThan(5_000);
    expect(seen.pods).toEqual([]);
    expect(seen.error).toMatch(/listing the release pods: no answer within 300 ms/);
    expect(
      standIn.requests.filter((r) => r.path === '/api/v1/namespaces/falco-canary/pods').length,
    ).toBeGreaterThan(0);
  });
});
