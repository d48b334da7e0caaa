/**
 * Who held the two cpus while requests waited: the kernel's context switches (`perf record -k mono
 * --switch-events -e dummy -C 0,1`, read back with `perf script --show-switch-events -F comm,pid,tid,cpu,time`)
 * beside the even-rate client's slow requests (their due times on CLOCK_MONOTONIC, BENCH_SLOW_FILE).
 * A burst of slow requests is put down to the thread, other than the target's and the client's main
 * threads, that held a cpu longest while the requests in it came due.
 *
 * Switch records, not the sched_switch tracepoint: on this VM perf records nothing in the context of
 * the sandbox's pid 1 (its agent), so the tracepoint shows its threads coming onto a cpu but never
 * leaving, and a slice would run on to the next switch perf saw. A switch record is written for both
 * sides (OUT for the task leaving, naming the next; IN for the task arriving, naming the previous),
 * so the side perf does see still says when a hidden thread came and went.
 */

/** A thread's time on one cpu, ms on CLOCK_MONOTONIC. */
export interface CpuSlice {
  cpu: number;
  from: number;
  to: number;
  /** Its thread name, or for a thread perf records nothing of, its process's (`names`) or "pid N". */
  comm: string;
  tid: number;
  pid: number;
}

/** A request that waited over the threshold: when it was due (ms, CLOCK_MONOTONIC) and how long it took. */
export interface SlowRequest {
  dueMs: number;
  latencyMs: number;
}

const LINE =
  /^\s*(.*?)\s+(\d+)\/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+PERF_RECORD_SWITCH_CPU_WIDE\s+(IN|OUT)\b.*?(?:next|prev) pid\/tid:\s*(\d+)\/(\d+)/;

interface Task {
  pid: number;
  tid: number;
}

/**
 * Each cpu's run of one thread between two switches, from `perf script --show-switch-events`
 * output; `names` names a process perf recorded nothing of (here: pid 1).
 */
export function parseSwitches(
  text: string,
  names: (pid: number) => string | undefined = () => undefined,
): CpuSlice[] {
  const comms = new Map<number, string>();
  const switches: Array<{ cpu: number; at: number; to: Task }> = [];
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match) continue;
    const self = { pid: Number(match[2]), tid: Number(match[3]) };
    const other = { pid: Number(match[7]), tid: Number(match[8]) };
    comms.set(self.tid, match[1]!);
    switches.push({
      cpu: Number(match[4]),
      at: Number(match[5]) * 1000,
      to: match[6] === 'OUT' ? other : self,
    });
  }
  switches.sort((a, b) => a.cpu - b.cpu || a.at - b.at);
  const slices: CpuSlice[] = [];
  for (let i = 0; i + 1 < switches.length; i++) {
    const { cpu, at, to } = switches[i]!;
    const next = switches[i + 1]!;
    if (next.cpu !== cpu || next.at <= at) continue;
    const comm = comms.get(to.tid) ?? names(to.pid) ?? `pid ${to.pid}`;
    slices.push({ cpu, from: at, to: next.at, comm, tid: to.tid, pid: to.pid });
  }
  return slices;
}

/** Slow requests due within `gapMs` of each other, as one burst. */
export function bursts(
  slow: SlowRequest[],
  gapMs = 5,
): Array<{ from: number; to: number; requests: number }> {
  const out: Array<{ from: number; to: number; requests: number }> = [];
  for (const { dueMs } of [...slow].sort((a, b) => a.dueMs - b.dueMs)) {
    const last = out.at(-1);
    if (last && dueMs - last.to < gapMs) {
      last.to = dueMs;
      last.requests++;
    } else out.push({ from: dueMs, to: dueMs, requests: 1 });
  }
  return out;
}

/** The processes whose main threads are the measured pair, and what to call the others' threads. */
export interface Roles {
  targetPid: number;
  clientPid: number;
}

function holder(slice: CpuSlice, roles: Roles): string | undefined {
  if (slice.tid === 0) return undefined; // idle
  if (slice.tid === roles.targetPid || slice.tid === roles.clientPid) return undefined; // their main threads
  const owner =
    slice.pid === roles.targetPid ? "the target's " : slice.pid === roles.clientPid ? "the client's " : '';
  const pidNote = owner === '' && !slice.comm.startsWith('pid ') ? ` (pid ${slice.pid})` : '';
  return `${owner}${slice.comm}${pidNote} on cpu ${slice.cpu}`;
}

/**
 * Slow requests per holder: each burst goes to the thread that held a cpu longest (at least
 * `minMs`) from 1 ms before its first request was due to 1 ms after its last; "nothing else" when
 * no thread did, which leaves the target's own main thread (its collector's pauses, its work).
 */
export function attribute(
  slow: SlowRequest[],
  slices: CpuSlice[],
  roles: Roles,
  minMs = 1,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const burst of bursts(slow)) {
    const from = burst.from - 1;
    const to = burst.to + 1;
    const held = new Map<string, number>();
    for (const slice of slices) {
      if (slice.to <= from || slice.from >= to) continue;
      const who = holder(slice, roles);
      if (who) held.set(who, (held.get(who) ?? 0) + Math.min(slice.to, to) - Math.max(slice.from, from));
    }
    const [top] = [...held].sort((a, b) => b[1] - a[1]);
    const cause = top && top[1] >= minMs ? top[0] : 'nothing else (the target itself)';
    counts.set(cause, (counts.get(cause) ?? 0) + burst.requests);
  }
  return counts;
}
