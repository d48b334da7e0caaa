import path from 'node:path';
import { execa } from 'execa';

/** The repository root: the build context. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');

/** The local Node base image (.ci/run exports NODE_BASE_IMAGE; the default matches it). */
export const NODE_BASE_IMAGE = process.env.NODE_BASE_IMAGE ?? 'falco-alert-receiver/node-base:local';

/** Targets of the repository's Dockerfile: the plain service, or the service with helm and the chart. */
export type ImageTarget = 'runtime' | 'triggers';

/**
 * Builds a target of the repository's Dockerfile on the local base image (no registry here).
 * `--network host` because `npm ci` inside the build needs the npm registry. The triggers target
 * needs docker/triggers-inputs/ staged first (stageTriggersInputs).
 */
export async function buildServiceImage(tag: string, target: ImageTarget = 'runtime'): Promise<void> {
  // Idempotent: returns at once when the base image already holds this node version.
  await execa('scripts/docker/build-base-image.sh', [NODE_BASE_IMAGE], { cwd: REPO_ROOT, timeout: 120_000 });
  await execa(
    'docker',
    [
      'build',
      '--quiet',
      '--network',
      'host',
      '--build-arg',
      `NODE_IMAGE=${NODE_BASE_IMAGE}`,
      '--target',
      target,
      '--tag',
      tag,
      '.',
    ],
    { cwd: REPO_ROOT, timeout: 300_000 },
  );
}

/**
 * Stages the air-gapped inputs of the triggers target: this machine's helm (scripts/ci/fetch-helm.sh,
 * the binary HELM_BINARY_SHA256 pins) and the event-generator chart from FALCO_CHARTS_DIR.
 */
export async function stageTriggersInputs(helmBinary: string, chartsDir: string): Promise<void> {
  await execa('scripts/docker/stage-triggers-inputs.sh', ['--helm', helmBinary], {
    cwd: REPO_ROOT,
    env: { FALCO_CHARTS_DIR: chartsDir },
    timeout: 60_000,
  });
}

/** Size of a local image in bytes. */
export async function readImageSize(tag: string): Promise<number> {
  const { stdout } = await execa('docker', ['image', 'inspect', '--format', '{{.Size}}', tag], {
    timeout: 30_000,
  });
  return Number(stdout.trim());
}
