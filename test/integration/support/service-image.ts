import path from 'node:path';
import { execa } from 'execa';

const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');

/** The local Node base image (.ci/run exports NODE_BASE_IMAGE; the default matches it). */
export const NODE_BASE_IMAGE = process.env.NODE_BASE_IMAGE ?? 'falco-alert-receiver/node-base:local';

/**
 * Builds the service image from the repository's Dockerfile on the local base image (no registry
 * here). `--network host` because `npm ci` inside the build needs the npm registry.
 */
export async function buildServiceImage(tag: string): Promise<void> {
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
      '--tag',
      tag,
      '.',
    ],
    { cwd: REPO_ROOT, timeout: 300_000 },
  );
}

/** Size of a local image in bytes. */
export async function readImageSize(tag: string): Promise<number> {
  const { stdout } = await execa('docker', ['image', 'inspect', '--format', '{{.Size}}', tag], {
    timeout: 30_000,
  });
  return Number(stdout.trim());
}
