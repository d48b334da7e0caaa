import { execFileSync, type ChildProcess } from 'node:child_process';

/**
 * The cluster primary's worker processes, by their pids. Matched on the command line, not the
 * process name: Node 24 names its main thread, so `comm` reads "MainThread" there.
 */
export function workerPids(primary: ChildProcess): number[] {
  return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(primary.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('node'))
    .map((line) => Number.parseInt(line, 10));
}
