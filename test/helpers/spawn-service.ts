import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { execa } from 'execa';

const ROOT = join(import.meta.dirname, '../..');
// Every child started here, so a failed test cannot leave a service running (see killSpawned).
const spawned = new Set<ChildProcess>();

/** Kills every service this helper started that is still running; call it in afterEach. */
export function killSpawned(): void {
  for (const child of spawned)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  spawned.clear();
}

/**
 * Compiles the service into `.cache/dist-<name>/` and returns its main.js. A folder per test
 * file, because test files run in parallel and one build must not rewrite another's running
 * files; inside the repository, so `node_modules` still resolves.
 */
export async function buildService(name: string): Promise<string> {
  const outDir = join(ROOT, '.cache', `dist-${name}`);
  await execa(process.execPath, ['scripts/build.mjs', outDir], { cwd: ROOT, timeout: 180_000 });
  return join(outDir, 'main.js');
}

/** The built service (`node dist/main.js`) in a child process, its stdout read as JSON log lines. */
export interface SpawnedService {
  child: ChildProcess;
  port: number;
  /** Every complete log line so far, parsed. */
  lines: Array<Record<string, unknown>>;
  /** The same lines as received (JSON.parse rounds integers above 2^53, such as evt.time). */
  rawLines: string[];
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
}

/** `src/main.ts` run through tsx: the real process without a build step. */
export const FROM_SOURCE = ['--import', 'tsx', join(ROOT, 'src/main.ts')];

/**
 * Starts the service with PORT=0 and the given extra env; resolves once it logged `listening`.
 * `main` is a main.js from `buildService`, or `FROM_SOURCE` (the default: a `dist/` left by an
 * earlier build is never assumed, so a fresh clone runs the same code as a used one).
 * `keepLine` filters which raw lines are parsed and kept (long runs keep none).
 */
export async function spawnService(
  env: Record<string, string> = {},
  options: { main?: string | string[]; timeoutMs?: number; keepLine?: (raw: string) => boolean } = {},
): Promise<SpawnedService> {
  const keepLine = options.keepLine ?? (() => true);
  const main = options.main ?? FROM_SOURCE;
  const child = spawn(process.execPath, Array.isArray(main) ? main : [main], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  const lines: Array<Record<string, unknown>> = [];
  const rawLines: string[] = [];
  let carry = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`service did not start: ${stderr}`)),
      options.timeoutMs ?? 30_000,
    );
    void exited.then((code) => reject(new Error(`service exited (${code}) before listening: ${stderr}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      const parts = (carry + chunk.toString('utf8')).split('\n');
      carry = parts.pop() ?? '';
      for (const part of parts) {
        if (part.includes('"event":"listening"')) {
          clearTimeout(timer);
          resolve((JSON.parse(part) as { port: number }).port);
        }
        if (!keepLine(part)) continue;
        lines.push(JSON.parse(part) as Record<string, unknown>);
        rawLines.push(part);
      }
    });
  });
  return { child, port, lines, rawLines, exited };
}
