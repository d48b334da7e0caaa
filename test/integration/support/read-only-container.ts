import { execa } from 'execa';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';

/** GenericContainer has no builder for it; Kubernetes runs the pod with readOnlyRootFilesystem. */
export class ReadOnlyRootContainer extends GenericContainer {
  withReadOnlyRootFilesystem(): this {
    this.hostConfig.ReadonlyRootfs = true;
    return this;
  }
}

/**
 * Starts the service image as Kubernetes runs it: read-only root filesystem, host network (this
 * dockerd has no bridge), the port and settings by env; resolves once it logs "listening".
 * `configure` adds mounts (tmpfs, bind mounts) before the start.
 */
export async function startServiceContainer(
  image: string,
  env: Record<string, string>,
  configure: (container: ReadOnlyRootContainer) => ReadOnlyRootContainer = (container) => container,
): Promise<StartedTestContainer> {
  // .ci/run exports both; defaults here let a local `npx vitest run` work too (testcontainers reads
  // them at the first start). See environment.md.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  return configure(new ReadOnlyRootContainer(image).withReadOnlyRootFilesystem())
    .withNetworkMode('host')
    .withEnvironment(env)
    .withWaitStrategy(Wait.forLogMessage(/"event":"listening"/))
    .withStartupTimeout(30_000)
    .start();
}

/** Removes a started container, also one a test already stopped. */
export async function removeContainer(container: StartedTestContainer | undefined): Promise<void> {
  if (container)
    await execa('docker', ['rm', '--force', container.getId()], { reject: false, timeout: 30_000 });
}
