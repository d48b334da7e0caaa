import { execFileSync, type ChildProcess } from 'node:child_process';

/**
 * The cluster primary's worker processes, by their pids. Matched on the command line, not the
 * process name: Node 24 names its main thread, so `comm` reads "MainThread" there. By the node
 * binary the workers run (the primary's, forked), not by "node" anywhere in it: run from source,
 * the primary's tsx starts an esbuild service (node_modules/@esbuild/...) whenever its cache is
 * cold, which was then taken for a worker (and stopped or killed in its place).
 */
export function workerPids(primary: ChildProcess): number[] {
  return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(primary.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.trim().split(/\s+/)[1] === process.execPath)
    .map((line) => Number.parseInt(line, 10));
}
