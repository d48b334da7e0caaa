import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadKubeConfig } from '../../src/triggers/load-kube-config.js';

// In a pod the library reads this token and takes the in-cluster configuration.
const IN_CLUSTER = existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');

const KUBECONFIG_TEXT = `apiVersion: v1
kind: Config
clusters: [{ name: lab, cluster: { server: 'https://127.0.0.1:6443' } }]
users: [{ name: lab, user: { token: abc } }]
contexts: [{ name: lab, context: { cluster: lab, user: lab } }]
current-context: lab
`;

describe('loading the kubeconfig', () => {
  let home: string;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'kube-home-'));
    vi.stubEnv('HOME', home);
    vi.stubEnv('KUBECONFIG', '');
  });

  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(home, { recursive: true, force: true });
  });

  // Regression: the library's last resort, an http://localhost:8080 cluster, was taken for a
  // configured one, and every call failed with "HTTP protocol is not allowed when skipTLSVerify
  // is not set or false".
  it.skipIf(IN_CLUSTER)('says no cluster is configured when there is no kubeconfig at all', async () => {
    const result = await loadKubeConfig(undefined);

    expect(result).toEqual({
      ok: false,
      reason: 'no Kubernetes cluster configured (set TRIGGER_KUBECONFIG)',
    });
  });

  it('takes ~/.kube/config when there is one', async () => {
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), KUBECONFIG_TEXT);

    const result = await loadKubeConfig(undefined);

    expect(result.ok && result.value.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it('takes the file TRIGGER_KUBECONFIG names', async () => {
    const file = join(home, 'lab.yaml');
    writeFileSync(file, KUBECONFIG_TEXT);

    const result = await loadKubeConfig(file);

    expect(result.ok && result.value.getCurrentCluster()?.name).toBe('lab');
  });

  // Regression: the kubeconfig is read with js-yaml, whose message quotes the lines around the
  // error; the reason becomes the trigger run's error, logged and answered, with a user's token
  // or client key beside it.
  it.each([
    [
      'a line indented short',
      'users:\n- name: lab\n  user:\n    token: s3cr3t-token\n   bad: indent\n',
      5,
      4,
    ],
    ['an unclosed quote', 'users:\n- name: lab\n  user: { token: "s3cr3t-token }\n', 4, 1],
    ['a tag it does not know', 'users:\n- name: lab\n  user: { token: !s3cr3t-token x }\n', 3, 34],
  ])(
    'refuses a kubeconfig that is not YAML (%s) by the place of the error only',
    async (_what, text, line, column) => {
      const file = join(home, 'broken.yaml');
      writeFileSync(file, text);

      const result = await loadKubeConfig(file);

      expect(result).toEqual({
        ok: false,
        reason: `cannot load the kubeconfig: not YAML (line ${line}, column ${column})`,
      });
    },
  );
});
