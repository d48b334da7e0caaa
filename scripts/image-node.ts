import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// How the container image runs the service, read from its Dockerfile so that the benchmark, the
// fuzz run and the overload run measure the process the image runs, not Node's defaults (on a
// 24 GiB machine Node sizes the old generation at 4 GB, and RSS then says little about a pod).
const DOCKERFILE = readFileSync(fileURLToPath(new URL('../Dockerfile', import.meta.url)), 'utf8');

/** The value the image's ENV gives `name` (a quoted value may hold several flags). */
function readImageEnv(name: string): string {
  const match = new RegExp(`^\\s*(?:ENV\\s+)?${name}=(?:"([^"]*)"|(\\S+?))\\s*\\\\?$`, 'm').exec(DOCKERFILE);
  const value = match?.[1] ?? match?.[2];
  if (value === undefined) throw new Error(`Dockerfile sets no ${name}`);
  return value;
}

/** The node flags of the image's CMD (`["node", ...flags, "dist/main.js"]`). */
function readImageNodeArgs(): string[] {
  const cmd = /^CMD (\[.*"dist\/main\.js"\])$/m.exec(DOCKERFILE)?.[1];
  if (cmd === undefined) throw new Error('Dockerfile has no CMD that runs dist/main.js');
  const argv = JSON.parse(cmd) as string[];
  return argv.slice(1, -1);
}

/** The NODE_OPTIONS the container image runs the service with (its Dockerfile's ENV). */
export const IMAGE_NODE_OPTIONS = readImageEnv('NODE_OPTIONS');
/** The image's environment that shapes the process's memory: its NODE_OPTIONS and glibc's malloc tuning. */
export const IMAGE_RUNTIME_ENV = {
  NODE_OPTIONS: IMAGE_NODE_OPTIONS,
  MALLOC_MMAP_THRESHOLD_: readImageEnv('MALLOC_MMAP_THRESHOLD_'),
};
export const IMAGE_NODE_ARGS = readImageNodeArgs();

/** The image's runtime environment, each variable overridden by this process's own when it sets one. */
export function imageRuntimeEnv(own: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { ...IMAGE_RUNTIME_ENV };
  for (const name of Object.keys(env)) env[name] = own[name] ?? env[name]!;
  return env;
}
