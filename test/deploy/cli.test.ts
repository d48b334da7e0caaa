import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandWorks, findOnPath, requireComponent } from '../helpers/components.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const FIXTURE_BIN = path.join(REPO_ROOT, 'test/fixtures/bin');
const HELM = path.join(REPO_ROOT, '.cache/bin/helm');
const helmReady = requireComponent('helm', commandWorks(HELM, ['version', '--short']));
// Wherever the suite's kubectl is: .ci/run installs it in .cache/bin, not /usr/bin.
const KUBECTL = findOnPath('kubectl');
const kubectlReady = requireComponent(
  'kubectl',
  KUBECTL !== undefined && commandWorks(KUBECTL, ['version', '--client']),
);

/** The example values with an overlay that has their component (the folder need not exist for --dry-run). */
const WITH_MTLS = ['--values', 'helm-values/examples/falco-mtls.yaml', '--kustomize', 'overlays/mtls/'];
const WITH_PATH_SECRET = [
  '--values',
  'helm-values/examples/falco-path-secret.yaml',
  '--kustomize',
  'overlays/path-secret/',
];

/**
 * Runs the real deploy CLI with only the given PATH (node itself is called by absolute path), and
 * the real kubectl for the fixture's `kubectl kustomize`.
 */
function runDeploy(args: string[], env: Record<string, string>) {
  return execa(process.execPath, ['--import', 'tsx', 'src/deploy/cli.ts', ...args], {
    cwd: REPO_ROOT,
    extendEnv: false,
    env: { REAL_KUBECTL: KUBECTL ?? '', ...env },
    reject: false,
    timeout: 60_000,
  });
}

/** An overlay of k8s/ with the given components, in its own folder below `dir`. */
function writeOverlay(dir: string, components: string[]): string {
  const overlay = path.join(dir, 'overlay');
  mkdirSync(overlay);
  const base = path.relative(overlay, path.join(REPO_ROOT, 'k8s'));
  const listed = components.map((name) => `${base}/components/${name}`).join(', ');
  writeFileSync(path.join(overlay, 'kustomization.yaml'), `resources: [${base}]\ncomponents: [${listed}]\n`);
  return overlay;
}

/** Merges `env` (lines of an env file) into the receiver's ConfigMap, as a user's overlay would. */
function addReceiverEnv(overlay: string, env: string): void {
  writeFileSync(
    path.join(overlay, 'kustomization.yaml'),
    `${readFileSync(path.join(overlay, 'kustomization.yaml'), 'utf8')}configMapGenerator:\n  - { name: falco-alert-receiver-env, namespace: falco, behavior: merge, envs: [more.env] }\n`,
  );
  writeFileSync(path.join(overlay, 'more.env'), env);
}

describe('npm run deploy', { timeout: 60_000 }, () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'deploy-cli-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('with --dry-run prints every command in order and runs none, even without helm or kubectl', async () => {
    const result = await runDeploy(['--dry-run', '--falco-chart-version', '3.1.4'], { PATH: dir });

    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n').slice(1)).toEqual([
      'helm repo add falcosecurity https://falcosecurity.github.io/charts --force-update',
      'helm repo update falcosecurity',
      'helm upgrade --install falco falcosecurity/falco --namespace falco --create-namespace --values helm-values/falco.yaml --version 3.1.4',
      'kubectl apply --kustomize k8s/',
      'kubectl rollout status deployment/falco-alert-receiver --namespace falco --timeout=300s',
      'kubectl rollout status daemonset/falco --namespace falco --timeout=300s',
    ]);
  });

  it('with --charts-dir installs the local archive, adds no chart repository, and layers --values files in order', async () => {
    const result = await runDeploy(
      [
        '--dry-run',
        '--falco-chart-version',
        '9.1.0',
        '--charts-dir',
        '../shared/charts',
        '--values',
        'helm-values/examples/falco-mtls.yaml',
        '--kustomize',
        'overlays/mtls/',
      ],
      { PATH: dir },
    );

    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toContain('helm repo');
    expect(result.stdout.split('\n')[1]).toBe(
      'helm upgrade --install falco ../shared/charts/falco-9.1.0.tgz --namespace falco --create-namespace --values helm-values/falco.yaml --values helm-values/examples/falco-mtls.yaml',
    );
    expect(result.stdout.split('\n')[2]).toBe('kubectl apply --kustomize overlays/mtls/');
  });

  it.each([
    ['helm-values/examples/falco-mtls.yaml', 'components/mtls'],
    ['helm-values/examples/falco-path-secret.yaml', 'components/path-secret'],
  ])(
    'refuses %s with the base manifests alone (Falco would post where nothing listens)',
    async (values, component) => {
      const result = await runDeploy(['--dry-run', '--values', values], { PATH: dir });

      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(`pass --kustomize <dir>, an overlay of k8s/ that adds ${component}`);
      expect(result.stdout).toBe('');
    },
  );

  it.each([['k8s'], ['./k8s'], ['k8s/.'], [path.join(REPO_ROOT, 'k8s')]])(
    'refuses mTLS values with --kustomize %s, the base however it is written',
    async (kustomize) => {
      const result = await runDeploy(
        ['--dry-run', '--values', 'helm-values/examples/falco-mtls.yaml', '--kustomize', kustomize],
        { PATH: dir },
      );

      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('pass --kustomize <dir>, an overlay of k8s/ that adds components/mtls');
      expect(result.stdout).toBe('');
    },
  );

  it('refuses a copy of the mTLS values under another name with the base manifests', async () => {
    const copy = path.join(dir, 'my-falco.yaml');
    copyFileSync(path.join(REPO_ROOT, 'helm-values/examples/falco-mtls.yaml'), copy);

    const result = await runDeploy(['--dry-run', '--values', copy], { PATH: dir });

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`${copy} points Falco at a listener k8s/ alone does not have`);
  });

  it.each([
    ['3.1.4', 2],
    ['3.6.2', 2],
    ['3.7.0', 0],
  ])(
    'with mTLS values and chart %s (Falco 0.36, the first with a client certificate, from 3.7.0) exits %i',
    async (version, exitCode) => {
      const result = await runDeploy(['--dry-run', '--falco-chart-version', version, ...WITH_MTLS], {
        PATH: dir,
      });

      expect(result.exitCode, result.stderr).toBe(exitCode);
      if (exitCode === 2) {
        expect(result.stderr).toContain(`sets http_output.mtls, which chart ${version} cannot do`);
        expect(result.stdout).toBe('');
      }
    },
  );

  it('with --dry-run and a path secret file shows where the values file with the URL goes, not the secret', async () => {
    const secret = 'b'.repeat(32);
    writeFileSync(path.join(dir, 'secret'), secret);

    const result = await runDeploy(
      ['--dry-run', ...WITH_PATH_SECRET, '--ingest-path-secret-file', path.join(dir, 'secret')],
      { PATH: dir },
    );

    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      "--values helm-values/examples/falco-path-secret.yaml --values '<values file with the URL, written at deploy time>'",
    );
    expect(result.stdout).not.toContain(secret);
  });

  it('refuses the path-secret values while their URL holds the placeholder, which the receiver answers 401', async () => {
    const result = await runDeploy(['--dry-run', ...WITH_PATH_SECRET], { PATH: dir });

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      "helm-values/examples/falco-path-secret.yaml: Falco's URL http://falco-alert-receiver.falco.svc.cluster.local:8080/alerts/<INGEST_PATH_SECRET> still holds the placeholder <INGEST_PATH_SECRET>",
    );
    expect(result.stderr).toContain('--ingest-path-secret-file <file>');
    expect(result.stdout).toBe('');
  });

  it('refuses a path secret file the receiver would refuse, naming the option and not the secret', async () => {
    writeFileSync(path.join(dir, 'secret'), 'short!\n');

    const result = await runDeploy(
      ['--dry-run', ...WITH_PATH_SECRET, '--ingest-path-secret-file', path.join(dir, 'secret')],
      { PATH: dir },
    );

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      '--ingest-path-secret-file: the secret must be 16-128 characters of A-Z a-z 0-9 _ -',
    );
    expect(result.stderr).not.toContain('short!');
  });

  // Regression: the yaml library hands each warning about a values file (a tag it does not know, a
  // list used as a key) to process.emitWarning with the lines around it, and Node printed them to
  // stderr, a webhook token in a values file with them.
  it("reads a values file with a tag it does not know without printing the file's lines", async () => {
    const values = path.join(dir, 'sidekick.yaml');
    writeFileSync(values, 'falcosidekick:\n  config:\n    webhook:\n      token: !vault s3cr3t-token\n');

    const result = await runDeploy(['--dry-run', '--values', values], { PATH: dir });

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`--values helm-values/falco.yaml --values ${values}`);
    expect(result.stderr).not.toContain('s3cr3t-token');
    expect(result.stderr).toBe('');
  });

  it('hands the secret URL to helm in a 0600 values file, layered last and removed afterwards, never in an argument', async () => {
    const secret = 'a'.repeat(20) + '_0123456789-xyz';
    // Mid-rotation: the new secret first (the one Falco is given), the old one still taken below it.
    writeFileSync(path.join(dir, 'secret'), `${secret}\n# the old one\n${'c'.repeat(24)}\n`);
    const record = path.join(dir, 'argv.log');
    const seen = path.join(dir, 'values.log');
    // A helm that notes the mode and text of the last --values file, then is the fixture helm.
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(
      path.join(bin, 'helm'),
      [
        '#!/bin/sh',
        'last=""; previous=""',
        'for arg; do [ "$previous" = --values ] && last="$arg"; previous="$arg"; done',
        '[ -n "$last" ] && { stat -c %a "$last"; cat "$last"; } >>"$VALUES_SEEN"',
        `exec ${FIXTURE_BIN}/helm "$@"`,
      ].join('\n'),
      { mode: 0o755 },
    );

    const overlay = writeOverlay(dir, ['path-secret']);

    const result = await runDeploy(
      [
        '--values',
        'helm-values/examples/falco-path-secret.yaml',
        '--kustomize',
        overlay,
        '--ingest-path-secret-file',
        path.join(dir, 'secret'),
      ],
      { PATH: `${bin}:${FIXTURE_BIN}:/usr/bin:/bin`, RECORD_FILE: record, VALUES_SEEN: seen },
    );

    expect(result.exitCode, result.stdout).toBe(0);
    const install = readFileSync(record, 'utf8')
      .split('\n')
      .find((line) => line.startsWith('helm upgrade'));
    const valuesFile = install?.split(' --values ').at(-1)?.split(' ')[0] ?? '';
    expect(install).toContain(
      '--values helm-values/falco.yaml --values helm-values/examples/falco-path-secret.yaml --values /',
    );
    expect(readFileSync(seen, 'utf8')).toBe(
      `600\nfalco:\n  http_output:\n    url: http://falco-alert-receiver.falco.svc.cluster.local:8080/alerts/${secret}\n`,
    );
    expect(existsSync(valuesFile)).toBe(false);
    expect(existsSync(path.dirname(valuesFile))).toBe(false);
    expect(readFileSync(record, 'utf8')).not.toContain(secret);
    expect(result.stdout).not.toContain(secret);
  });

  it.skipIf(!kubectlReady)(
    'stops before any change and says how to fix it when helm is not on PATH',
    async () => {
      symlinkSync(KUBECTL!, path.join(dir, 'kubectl'));

      const result = await runDeploy([], { PATH: dir });

      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain('helm not found on PATH. Install Helm');
      expect(result.stdout).toContain('--dry-run');
      expect(result.stdout).not.toContain('[1/');
    },
  );

  // Regression: the failure was "kubectl version --client is not executable", with no fix, and the
  // cluster check said "No reachable Kubernetes cluster" for it. The only kubectl on PATH lacks the
  // execute bit (execvp skips such a file when a later directory has an executable one).
  it('says kubectl could not be run, and the fix, when the kubectl on PATH is not executable', async () => {
    writeFileSync(path.join(dir, 'helm'), '#!/bin/sh\necho v3.15.0\n', { mode: 0o755 });
    writeFileSync(path.join(dir, 'kubectl'), '#!/bin/sh\necho kubectl ok\n', { mode: 0o644 });

    const result = await runDeploy([], { PATH: dir });

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('✓ helm is installed');
    expect(result.stdout).toContain(
      '✗ kubectl is installed: kubectl could not be run: the kubectl on PATH is not executable (permission denied). Make it executable (chmod +x)',
    );
    expect(result.stdout).not.toContain('No reachable');
    expect(result.stdout).not.toContain('[1/');
  });

  it.skipIf(!helmReady || !kubectlReady)(
    'says no cluster is reachable when the kubeconfig points nowhere',
    async () => {
      symlinkSync(HELM, path.join(dir, 'helm'));
      symlinkSync(KUBECTL!, path.join(dir, 'kubectl'));
      const kubeconfig = path.join(dir, 'kubeconfig');
      // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: none, cluster: {server: "http://127.0.0.1:9"}}]',
          'contexts: [{name: none, context: {cluster: none}}]',
          'current-context: none',
        ].join('\n'),
      );

      const result = await runDeploy([], { PATH: dir, KUBECONFIG: kubeconfig, HOME: dir });

      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain('✓ helm is installed');
      expect(result.stdout).toContain('No reachable Kubernetes cluster');
      expect(result.stdout).toContain('127.0.0.1:9');
    },
  );

  it('runs the steps in order with progress lines, using the helm and kubectl on PATH', async () => {
    const record = path.join(dir, 'argv.log');

    const result = await runDeploy([], { PATH: `${FIXTURE_BIN}:/usr/bin:/bin`, RECORD_FILE: record });

    expect(result.exitCode, result.stdout).toBe(0);
    expect(readFileSync(record, 'utf8').trim().split('\n')).toEqual([
      'helm version --short',
      'kubectl version --client',
      'kubectl version --request-timeout=10s',
      'kubectl kustomize k8s/',
      'kubectl get secret falco-alert-receiver-viewer --namespace falco --output=name',
      'helm repo add falcosecurity https://falcosecurity.github.io/charts --force-update',
      'helm repo update falcosecurity',
      'helm upgrade --install falco falcosecurity/falco --namespace falco --create-namespace --values helm-values/falco.yaml --version 9.1.0',
      'kubectl apply --kustomize k8s/',
      'kubectl rollout status deployment/falco-alert-receiver --namespace falco --timeout=300s',
      'kubectl rollout status daemonset/falco --namespace falco --timeout=300s',
    ]);
    expect(result.stdout).toContain('[1/6] Add the falcosecurity chart repository');
    expect(result.stdout).toContain('[6/6] Wait for the Falco DaemonSet rollout');
    expect(result.stdout).toContain('✓ Falco and falco-alert-receiver are deployed');
  });

  it('stops at the first failing step, names the command and its error, and exits 1', async () => {
    const record = path.join(dir, 'argv.log');

    const result = await runDeploy([], {
      PATH: `${FIXTURE_BIN}:/usr/bin:/bin`,
      RECORD_FILE: record,
      FAIL_MATCH: 'apply',
    });

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      '✗ kubectl apply --kustomize k8s/ exited with code 1: error: kubectl failed on purpose (apply)',
    );
    expect(readFileSync(record, 'utf8')).not.toContain('rollout');
  });

  // Regression: settings the receiver refuses were applied; its pod exited 2 at each start and the
  // deploy failed only when the rollout timed out, 300 s later, naming none of them.
  it('stops before any change when the receiver would refuse a setting, naming it', async () => {
    const record = path.join(dir, 'argv.log');
    const overlay = writeOverlay(dir, []);
    addReceiverEnv(overlay, 'TRIGGERS_ENABLED=yes\r\nVIEWER_TOKENS_FILE=/x\r\n');

    const result = await runDeploy(['--kustomize', overlay], {
      PATH: `${FIXTURE_BIN}:/usr/bin:/bin`,
      RECORD_FILE: record,
    });

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      '! VIEWER_TOKENS_FILE is not a variable the receiver reads: did you mean VIEWER_TOKEN_FILE?',
    );
    expect(result.stdout).toContain(
      `✗ the receiver's settings in ${overlay}: it would refuse to start:\n  - TRIGGERS_ENABLED: must be one of 0, 1, true, false (got "yes")`,
    );
    expect(readFileSync(record, 'utf8')).not.toMatch(/^helm (repo|upgrade)|^kubectl (apply|get)/m);
  });

  // Regression: settings the receiver refuses together passed, being fine one by one: WORKERS=2
  // beside the base's VIEWER_TOKEN_FILE (each worker would sign sessions with a key of its own)
  // crash-looped the pod, and the deploy failed only when the rollout timed out. And two problems of
  // one variable were said on one line, joined by '; ', where the receiver says each on its own.
  it.each([
    [
      'WORKERS=2\nSTORE_SENTINELS=sentinel-0:26379\n',
      [
        'STORE_SENTINELS and STORE_SENTINEL_MASTER: set both to use Sentinel',
        'SESSION_SECRET: required with VIEWER_TOKEN when WORKERS is not 1 or replicas share a store (STORE_URL, STORE_SENTINELS)',
      ],
    ],
    [
      'TRIGGER_ALLOWED_IMAGES=--privileged,a b\n',
      [
        'TRIGGER_ALLOWED_IMAGES: "--privileged" is not an image reference',
        'TRIGGER_ALLOWED_IMAGES: "a b" is not an image reference',
      ],
    ],
  ])(
    'stops before any change at %j, a line a problem in the words of the receiver',
    async (env, problems) => {
      const record = path.join(dir, 'argv.log');
      const overlay = writeOverlay(dir, []);
      addReceiverEnv(overlay, env);

      const result = await runDeploy(['--kustomize', overlay], {
        PATH: `${FIXTURE_BIN}:/usr/bin:/bin`,
        RECORD_FILE: record,
      });

      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain(
        [
          `✗ the receiver's settings in ${overlay}: it would refuse to start:`,
          ...problems.map((problem) => `  - ${problem}`),
        ].join('\n'),
      );
      expect(readFileSync(record, 'utf8')).not.toMatch(/^helm (repo|upgrade)|^kubectl (apply|get)/m);
    },
  );

  it('deploys WORKERS=2 with triggers where the store URL and session keys come from a Secret', async () => {
    const record = path.join(dir, 'argv.log');
    const overlay = writeOverlay(dir, ['redis-store', 'triggers']);
    addReceiverEnv(overlay, 'WORKERS=2\n');

    const result = await runDeploy(['--kustomize', overlay], {
      PATH: `${FIXTURE_BIN}:/usr/bin:/bin`,
      RECORD_FILE: record,
    });

    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.stdout).not.toContain('would refuse');
    expect(readFileSync(record, 'utf8')).toMatch(/^kubectl apply --kustomize /m);
  });

  it('stops before any change when the viewer Secret is missing, and says how to create it', async () => {
    const record = path.join(dir, 'argv.log');

    const result = await runDeploy([], {
      PATH: `${FIXTURE_BIN}:/usr/bin:/bin`,
      RECORD_FILE: record,
      FAIL_MATCH: 'falco-alert-receiver-viewer',
    });

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('✗ the Secret falco-alert-receiver-viewer exists in namespace falco:');
    expect(result.stdout).toContain(
      'kubectl --namespace falco create secret generic falco-alert-receiver-viewer --from-literal=tokens=',
    );
    expect(readFileSync(record, 'utf8')).not.toMatch(/^helm (repo|upgrade)|^kubectl apply/m);
  });

  it('stops before any change when a Secret a component needs is missing, naming who needs it and which keys', async () => {
    const record = path.join(dir, 'argv.log');
    const overlay = writeOverlay(dir, ['redis-store', 'triggers']);

    const result = await runDeploy(['--kustomize', overlay], {
      PATH: `${FIXTURE_BIN}:/usr/bin:/bin`,
      RECORD_FILE: record,
      FAIL_MATCH: 'falco-alert-receiver-store',
    });

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(`✓ the manifests in ${overlay} render`);
    expect(result.stdout).toContain(
      '✗ the Secret falco-alert-receiver-store exists in namespace falco: error: kubectl failed on purpose ' +
        '(falco-alert-receiver-store): deployment/falco-alert-receiver and statefulset/falco-alert-receiver-redis ' +
        'cannot start without it (keys: password, session-secret, url).',
    );
    const commands = readFileSync(record, 'utf8');
    expect(commands).not.toMatch(/^helm (repo|upgrade)|^kubectl apply/m);
    expect(commands).toContain(
      'kubectl get secret falco-alert-receiver-store --namespace falco --output=name',
    );
  });

  it("stops before any change when the manifests do not render, with kubectl kustomize's error", async () => {
    const record = path.join(dir, 'argv.log');

    const result = await runDeploy(['--kustomize', path.join(dir, 'missing')], {
      PATH: `${FIXTURE_BIN}:/usr/bin:/bin`,
      RECORD_FILE: record,
    });

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      `✗ the manifests in ${path.join(dir, 'missing')} render: kubectl kustomize`,
    );
    expect(readFileSync(record, 'utf8')).not.toMatch(/^helm (repo|upgrade)|^kubectl (apply|get)/m);
  });

  // Regression (a review): the failure quoted the last line of stdout and stderr together, and
  // kubectl kustomize's stdout is the rendered manifests: a Secret's value could be that line.
  it('stops when kubectl kustomize fails after writing manifests, with its error and none of the manifests', async () => {
    const fake = path.join(dir, 'kubectl');
    writeFileSync(
      fake,
      [
        '#!/bin/sh',
        'if [ "$1" = kustomize ]; then',
        '  echo "error: kustomize failed on purpose" >&2',
        // The manifests after the error, so they end the output that both streams share.
        '  sleep 0.2',
        "  printf 'apiVersion: v1\\nkind: Secret\\nstringData:\\n  token: s3cr3t-token\\n'",
        '  exit 1',
        'fi',
        'echo ok',
      ].join('\n'),
      { mode: 0o755 },
    );
    symlinkSync(fake, path.join(dir, 'helm'));

    const result = await runDeploy([], { PATH: `${dir}:/usr/bin:/bin` });

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      '✗ the manifests in k8s/ render: kubectl kustomize k8s/ exited with code 1: error: kustomize failed on purpose',
    );
    expect(result.stdout).not.toContain('s3cr3t');
  });
});
