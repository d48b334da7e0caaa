import { chmodSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHelmValueArgs, buildPostRendererArgs } from '../../src/runners/helm-args.js';
import { GENERATOR_ACTIONS } from '../../src/triggers/data/event-generator-actions.js';
import type { TriggerRun } from '../../src/triggers/trigger-run.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { FALCO_CHARTS_DIR, HELM, helmReady, requireChart } from './support/falco-charts.js';
import { writeUnreachableKubeconfig } from '../helpers/unreachable-kubeconfig.js';
import { findFreePort } from './support/free-port.js';
import { removeContainer, startServiceContainer } from './support/read-only-container.js';
import {
  buildServiceImage,
  NODE_BASE_IMAGE,
  REPO_ROOT,
  stageTriggersInputs,
} from './support/service-image.js';

const dockerReady = requireComponent('docker', commandWorks('docker', ['info']));
const chart = requireChart('event-generator-0.4.0.tgz');
const ready = dockerReady && helmReady() && chart !== undefined;
const IMAGE = 'falco-alert-receiver:integration-test-triggers';
const PLAIN_IMAGE = 'falco-alert-receiver:integration-test-runtime';
const CHART_IN_IMAGE = '/opt/falco-alert-receiver/charts/event-generator.tgz';
const TOKEN = 'container-token-0123456789abcdef';
// The bundled chart (0.4.0) runs event-generator v0.13, the default TRIGGER_EVENT_GENERATOR_VERSION.
const IMAGE_TAG = GENERATOR_ACTIONS['v0.13'].imageTag;

async function waitForFinishedRun(baseUrl: string, id: string): Promise<TriggerRun> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await fetch(`${baseUrl}/triggers/${id}`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    const run = (await response.json()) as TriggerRun;
    if (run.status === 'succeeded' || run.status === 'failed') return run;
    if (Date.now() > deadline) throw new Error(`run ${id} did not finish: ${JSON.stringify(run)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(!ready)('the triggers image (Dockerfile target triggers)', () => {
  let container: StartedTestContainer;
  let baseUrl: string;

  beforeAll(async () => {
    await stageTriggersInputs(HELM, FALCO_CHARTS_DIR);
    await buildServiceImage(IMAGE, 'triggers');
    const kube = await writeUnreachableKubeconfig();
    // uid 1000 in the container must read the bind-mounted kubeconfig (mkdtemp makes 0700).
    chmodSync(kube.home, 0o755);
    chmodSync(kube.path, 0o644);
    const port = await findFreePort();
    baseUrl = `http://127.0.0.1:${port}`;
    container = await startServiceContainer(
      IMAGE,
      {
        PORT: String(port),
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN: TOKEN,
        TRIGGER_ALLOWED_NAMESPACES: 'falco-canary',
        TRIGGER_KUBECONFIG: path.posix.join('/kube', path.basename(kube.path)),
        TRIGGER_COMMAND_TIMEOUT_MS: '20000',
      },
      // helm's HELM_CACHE_HOME/HELM_CONFIG_HOME/HELM_DATA_HOME point below /tmp (an emptyDir in k8s).
      (started) =>
        started
          .withTmpFs({ '/tmp': 'rw,size=64m' })
          .withBindMounts([{ source: kube.home, target: '/kube', mode: 'ro' }]),
    );
    // Two cold npm ci runs on a shared 2-core machine, plus the helm and chart layers.
  }, 600_000);

  afterAll(() => removeContainer(container));

  it('runs helm version as uid 1000 with a read-only root filesystem', async () => {
    const user = await container.exec(['id', '-u']);
    const version = await container.exec(['helm', 'version', '--short']);
    const write = await container.exec(['touch', '/app/written']);

    expect(user.output.trim()).toBe('1000');
    expect(version.exitCode).toBe(0);
    expect(version.output).toMatch(/^v\d+\.\d+\.\d+/);
    expect(write.exitCode).not.toBe(0);
  });

  it('defaults TRIGGER_EVENT_GENERATOR_CHART to the bundled chart, which renders offline through the post-renderer as a ServiceAccount and a Job', async () => {
    const env = await execa('docker', ['inspect', '--format', '{{json .Config.Env}}', IMAGE]);
    // The trigger's own values and post-renderer, as uid 1000 on the read-only root filesystem.
    const rendered = await container.exec([
      'helm',
      'template',
      'eg',
      CHART_IN_IMAGE,
      '--namespace',
      'falco-canary',
      ...buildHelmValueArgs('^syscall', IMAGE_TAG),
      ...buildPostRendererArgs('drop-cluster-rbac'),
    ]);
    const kinds = [...rendered.output.matchAll(/^kind: (\w+)$/gm)].map((match) => match[1]);

    expect(JSON.parse(env.stdout)).toEqual(
      expect.arrayContaining([
        `TRIGGER_EVENT_GENERATOR_CHART=${CHART_IN_IMAGE}`,
        'HELM_CACHE_HOME=/tmp/helm/cache',
        'HELM_CONFIG_HOME=/tmp/helm/config',
        'HELM_DATA_HOME=/tmp/helm/data',
        'HELM_PLUGINS=/opt/falco-alert-receiver/helm-plugins',
        'TRIGGER_EVENT_GENERATOR_POST_RENDERER=drop-cluster-rbac',
      ]),
    );
    expect(rendered.exitCode).toBe(0);
    expect(kinds).toEqual(['ServiceAccount', 'Job']);
    expect(rendered.output).toContain('helm.sh/chart: event-generator-0.4.0');
  });

  it('runs the event-generator trigger through the bundled helm and chart, failing only on the missing cluster', async () => {
    const response = await fetch(`${baseUrl}/triggers/event-generator`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ actions: '^syscall.ReadSensitiveFileUntrusted$' }),
    });
    const { id } = (await response.json()) as { id: string };
    const run = await waitForFinishedRun(baseUrl, id);
    const [install] = run.commands;

    expect(response.status).toBe(202);
    expect(install?.argv.slice(0, 4)).toEqual([
      'helm',
      'install',
      `falco-eg-${id.slice(0, 8)}`,
      CHART_IN_IMAGE,
    ]);
    expect(install?.argv).not.toContain('--repo');
    expect(install?.argv.join(' ')).toContain('--post-renderer drop-cluster-rbac');
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(
      /^helm exited with code 1: Error: INSTALLATION FAILED: .*kubernetes cluster unreachable/,
    );
    expect(run.error).not.toMatch(/not installed|not found|read-only file system/i);
  });

  it('refuses to build when the staged helm does not have the pinned sha256', async () => {
    const build = await execa(
      'docker',
      [
        'build',
        '--network',
        'none',
        '--build-arg',
        `NODE_IMAGE=${NODE_BASE_IMAGE}`,
        '--build-arg',
        `HELM_BINARY_SHA256=${'0'.repeat(64)}`,
        '--target',
        'triggers-tools',
        '.',
      ],
      { cwd: REPO_ROOT, reject: false, all: true, timeout: 120_000 },
    );

    expect(build.exitCode).not.toBe(0);
    expect(build.all).toContain(`is not the pinned ${'0'.repeat(64)}`);
  }, 120_000);

  it('leaves helm out of the plain image (target runtime)', async () => {
    await buildServiceImage(PLAIN_IMAGE, 'runtime');
    const plain = await execa(
      'docker',
      ['run', '--rm', '--network', 'none', PLAIN_IMAGE, 'sh', '-c', 'command -v helm'],
      {
        reject: false,
        timeout: 60_000,
      },
    );
    const chartFile = await execa(
      'docker',
      ['run', '--rm', '--network', 'none', PLAIN_IMAGE, 'ls', CHART_IN_IMAGE],
      {
        reject: false,
        timeout: 60_000,
      },
    );

    expect(plain.exitCode).not.toBe(0);
    expect(chartFile.exitCode).not.toBe(0);
  }, 300_000);
});
