import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeUnreachableKubeconfig } from '../helpers/unreachable-kubeconfig.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import {
  buildHelmInstallArgs,
  buildHelmTemplateArgs,
  buildHelmUninstallArgs,
} from '../../src/runners/helm-args.js';
import { runCommand } from '../../src/runners/run-command.js';
import { releaseName } from '../../src/triggers/event-generator-trigger.js';

const CHART = resolve('test/fixtures/helm/event-generator-stub');
const PATH = `${resolve('.cache/bin')}:${process.env.PATH ?? ''}`;
const install = {
  release: 'falco-eg-1234abcd',
  namespace: 'falco-canary',
  source: { chart: 'event-generator', repo: 'https://falcosecurity.github.io/charts', version: '0.4.0' },
  actions: '^syscall\\.Write',
  imageTag: '0.13.0',
  timeoutSeconds: 120,
};

describe('helm argv builders', () => {
  it('installs the chart as a one-shot Job with the actions as a string value, waiting for the Job', () => {
    expect(buildHelmInstallArgs(install)).toEqual([
      'helm',
      'install',
      'falco-eg-1234abcd',
      'event-generator',
      '--repo',
      'https://falcosecurity.github.io/charts',
      '--version',
      '0.4.0',
      '--namespace',
      'falco-canary',
      '--set',
      'config.loop=false',
      '--set-string',
      'config.actions=^syscall\\.Write',
      '--set-string',
      'image.tag=0.13.0',
      '--wait',
      '--wait-for-jobs',
      '--timeout',
      '120s',
    ]);
  });

  it('uses neither --repo nor --version for a local chart path and passes the kubeconfig', () => {
    const argv = buildHelmInstallArgs({
      ...install,
      source: { chart: '/charts/eg' },
      kubeconfig: '/k/config',
    });
    expect(argv).not.toContain('--repo');
    expect(argv).not.toContain('--version');
    expect(argv).toEqual(expect.arrayContaining(['/charts/eg', '--kubeconfig', '/k/config']));
  });

  it('passes a configured post-renderer to helm install and helm template', () => {
    const options = { ...install, postRenderer: 'drop-cluster-rbac' };

    expect(buildHelmInstallArgs(options).join(' ')).toContain('--post-renderer drop-cluster-rbac');
    expect(buildHelmTemplateArgs(options).join(' ')).toContain('--post-renderer drop-cluster-rbac');
    expect(buildHelmInstallArgs(install)).not.toContain('--post-renderer');
  });

  it('makes the Job container privileged only when asked (securityContext.privileged, both charts)', () => {
    const options = { ...install, privileged: true };

    expect(buildHelmInstallArgs(options).join(' ')).toContain('--set securityContext.privileged=true');
    expect(buildHelmTemplateArgs(options).join(' ')).toContain('--set securityContext.privileged=true');
    expect(buildHelmInstallArgs(install).join(' ')).not.toContain('securityContext');
  });

  it('uninstalls the same release in the same namespace, tolerating a release that never got installed', () => {
    expect(buildHelmUninstallArgs({ release: 'falco-eg-1', namespace: 'ns', timeoutSeconds: 60 })).toEqual([
      'helm',
      'uninstall',
      'falco-eg-1',
      '--namespace',
      'ns',
      '--ignore-not-found',
      '--wait',
      '--timeout',
      '60s',
    ]);
  });

  it('names each run its own valid release', () => {
    const name = releaseName('9f1c2d3e-aaaa-4bbb-8ccc-123456789012');
    expect(name).toBe('falco-eg-9f1c2d3e');
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name.length).toBeLessThanOrEqual(53);
  });
});

const haveHelm = requireComponent(
  'helm (.cache/bin/helm)',
  commandWorks(join(resolve('.cache/bin'), 'helm'), ['version']) || commandWorks('helm', ['version']),
);

describe.runIf(haveHelm)('the real helm binary on a local test chart', () => {
  const env = { PATH, HOME: mkdtempSync(join(tmpdir(), 'helm-home-')) };
  let kubeconfig = '';

  beforeAll(async () => {
    kubeconfig = (await writeUnreachableKubeconfig()).path;
  });

  it('renders a Job (not a Deployment) carrying the actions regex unchanged', async () => {
    const argv = buildHelmTemplateArgs({
      release: 'falco-eg-abc',
      namespace: 'falco-canary',
      source: { chart: CHART },
      actions: '^syscall.(Write|Read)[A-Z].*$',
      imageTag: '0.13.0',
    });
    const result = await runCommand(argv, { timeoutMs: 30_000, maxOutputChars: 10_000, env });
    expect(result.failed).toBe(false);
    expect(result.output).toContain('kind: Job');
    expect(result.output).not.toContain('kind: Deployment');
    expect(result.output).toContain('name: falco-eg-abc');
    expect(result.output).toContain('namespace: falco-canary');
    expect(result.output).toContain('- "^syscall.(Write|Read)[A-Z].*$"');
    expect(result.output).toContain('--loop=false');
  });

  it("fails an install with helm's exact cluster-unreachable error", async () => {
    const argv = buildHelmInstallArgs({
      ...install,
      source: { chart: CHART },
      kubeconfig,
      timeoutSeconds: 5,
    });
    const result = await runCommand(argv, { timeoutMs: 30_000, maxOutputChars: 10_000, env });
    expect(result).toMatchObject({ failed: true, exitCode: 1, timedOut: false });
    expect(result.reason).toMatch(
      /^helm exited with code 1: Error: INSTALLATION FAILED: .*kubernetes cluster unreachable: Get "http:\/\/127\.0\.0\.1:\d+\/version": dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/,
    );
  });

  it('fails an uninstall the same way when the cluster is unreachable', async () => {
    const argv = buildHelmUninstallArgs({
      release: install.release,
      namespace: install.namespace,
      timeoutSeconds: 5,
      kubeconfig,
    });
    const result = await runCommand(argv, { timeoutMs: 30_000, maxOutputChars: 10_000, env });
    expect(result).toMatchObject({ failed: true, exitCode: 1 });
    expect(result.reason).toMatch(/kubernetes cluster unreachable/);
  });
});
