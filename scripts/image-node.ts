import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// How the container image runs the service, read from its Dockerfile so that the benchmark, the
// fuzz run and the overload run measure the process the image runs, not Node's defaults (on a
// 24 GiB machine Node sizes the old generation at 4 GB, and RSS then says little about a pod).
const DOCKERFILE = readFileSync(fileURLToPath(new URL('../Dockerfile', import.meta.url)), 'utf8');

/** The NODE_OPTIONS the container image runs the service with (its Dockerfile's ENV). */
function readImageNodeOptions(): string {
  // A quoted value holds several flags.
  const match = /^\s*NODE_OPTIONS=(?:"([^"]*)"|(\S+))/m.exec(DOCKERFILE);
  const value = match?.[1] ?? match?.[2];
  if (value === undefined) throw new Error('Dockerfile sets no NODE_OPTIONS');
  return value;
}

/** The node flags of the image's CMD (`["node", ...flags, "dist/main.js"]`). */
function readImageNodeArgs(): string[] {
  const cmd = /^CMD (\[.*"dist\/main\.js"\])$/m.exec(DOCKERFILE)?.[1];
  if (cmd === undefined) throw new Error('Dockerfile has no CMD that runs dist/main.js');
  const argv = JSON.parse(cmd) as string[];
  return argv.slice(1, -1);
}

export const IMAGE_NODE_OPTIONS = readImageNodeOptions();
export const IMAGE_NODE_ARGS = readImageNodeArgs();
