import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** True when `command --version`-style probe exits 0. */
export function commandWorks(command: string, args: string[] = ['--version']): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * The executable `command` resolves to on PATH, as execvp finds it: .ci/run puts helm and kubectl
 * in .cache/bin, and a fresh Debian 12 machine has no /usr/bin/kubectl.
 */
export function findOnPath(command: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => path.join(dir, command))
    .find((file) => {
      try {
        accessSync(file, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/**
 * Whether an integration test may run. Locally a missing component skips the test; with CI=true
 * it throws at collection time, so the run fails instead of silently skipping.
 */
export function requireComponent(name: string, available: boolean): boolean {
  if (!available && process.env.CI === 'true') {
    throw new Error(`${name} is required when CI=true but is not available (see .ci/run)`);
  }
  return available;
}
