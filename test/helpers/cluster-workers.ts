import { execFileSync, type ChildProcess } from 'node:child_process';

/** The cluster primary's worker processes, by their pids. */
export function workerPids(primary: ChildProcess): number[] {
  return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(primary.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('node'))
    .map((line) => Number.parseInt(line, 10));
}
