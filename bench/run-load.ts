import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LoadResult, LoadSpec } from './load-process.js';
import { pinned } from './targets.js';

const run = promisify(execFile);

/**
 * Runs autocannon in a separate process (optionally on its own cpu) and returns what it measured;
 * with `paced`, the even-rate latency client (bench/paced-load.ts) at `overallRate` instead, and
 * with `newConnectionPerRequest`, Falco 0.34's sender (bench/connection-per-alert-load.ts).
 */
export async function runLoad(
  spec: LoadSpec,
  cpu?: number,
  options: {
    /** Called with the client's pid once it is spawned. */
    onSpawn?: (pid: number) => void;
    /** Variables the client gets on top of this process's environment (e.g. BENCH_SLOW_FILE). */
    env?: Record<string, string>;
  } = {},
): Promise<LoadResult> {
  const script = spec.paced
    ? 'bench/paced-load.ts'
    : spec.newConnectionPerRequest
      ? 'bench/connection-per-alert-load.ts'
      : 'bench/load-process.ts';
  const [cmd, ...args] = pinned([process.execPath, '--import', 'tsx', script, JSON.stringify(spec)], cpu);
  const env = options.env ? { ...process.env, ...options.env } : undefined;
  const running = run(cmd!, args, { maxBuffer: 1024 * 1024, timeout: 15 * 60_000, env });
  // taskset execs the client, so this pid is the client's (bench/who-held-the-cpus.ts tells its threads apart by it).
  if (running.child.pid !== undefined) options.onSpawn?.(running.child.pid);
  const { stdout, stderr } = await running;
  // What a client says on stderr (the even-rate client's BENCH_PACED_DETAIL, warnings) reaches the run's log.
  if (stderr.trim() !== '') process.stderr.write(stderr);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as LoadResult;
}
