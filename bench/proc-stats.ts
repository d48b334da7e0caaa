import { readFileSync } from 'node:fs';

/** CPU time and memory of a process tree, read from /proc (Linux). */
export interface ProcSample {
  cpuSeconds: number;
  rssBytes: number;
}

const TICKS_PER_SECOND = 100;

function childrenOf(pid: number): number[] {
  try {
    const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return tasks === '' ? [] : tasks.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** The CPU time (user and system, all its threads) one process has used, in 10 ms ticks; throws once it is gone. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function sampleOne(pid: number): ProcSample {
  try {
    const cpuSeconds = cpuSecondsOf(pid);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuSeconds, rssBytes: rssKb * 1024 };
  } catch {
    return { cpuSeconds: 0, rssBytes: 0 };
  }
}

/** The process and its children (cluster workers) summed. */
export function sampleTree(pid: number): ProcSample {
  const pids = [pid, ...childrenOf(pid)];
  return pids
    .map(sampleOne)
    .reduce(
      (sum, s) => ({ cpuSeconds: sum.cpuSeconds + s.cpuSeconds, rssBytes: sum.rssBytes + s.rssBytes }),
      { cpuSeconds: 0, rssBytes: 0 },
    );
}

/** The most RSS the process has held since it started (`VmHWM`), 0 where /proc does not tell. */
export function peakRssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/**
 * TCP sockets in TIME_WAIT on this machine (/proc/net/sockstat's `tw`), and the size of the local
 * port range new connections take their ports from; NaN where /proc does not tell.
 */
export function timeWait(): { sockets: number; ports: number } {
  try {
    const sockstat = readFileSync('/proc/net/sockstat', 'utf8');
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    return { sockets: Number(/^TCP:.* tw (\d+)/m.exec(sockstat)?.[1] ?? NaN), ports: high! - low! + 1 };
  } catch {
    return { sockets: NaN, ports: NaN };
  }
}
