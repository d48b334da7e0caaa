import { describe, expect, it } from 'vitest';
import { attribute, bursts, parseSwitches } from '../../bench/cpu-holders.js';

// `perf script --show-switch-events -F comm,pid,tid,cpu,time` lines, at `ms` past 1000 s: the task
// printed leaves the cpu (OUT, naming the next) or arrives on it (IN, naming the previous).
type Task = [comm: string, pid: number, tid: number];
const out = ([comm, pid, tid]: Task, cpu: number, ms: number, next: Task) =>
  `${comm} ${pid}/${tid} [00${cpu}] ${(1000 + ms / 1000).toFixed(6)}: PERF_RECORD_SWITCH_CPU_WIDE OUT preempt  next pid/tid: ${next[1]}/${next[2]}`;
const into = ([comm, pid, tid]: Task, cpu: number, ms: number, prev: Task) =>
  `${comm} ${pid}/${tid} [00${cpu}] ${(1000 + ms / 1000).toFixed(6)}: PERF_RECORD_SWITCH_CPU_WIDE IN           prev pid/tid: ${prev[1]}/${prev[2]}`;

const idle1: Task = ['swapper', 0, 0];
const idle0: Task = ['swapper', 0, 0];
const target: Task = ['MainThread', 100, 100];
const client: Task = ['MainThread', 200, 200];
const clientV8: Task = ['V8Worker', 200, 203];
// A thread of the sandbox's pid 1: perf records nothing in its context, only the other side's records.
const agent: Task = ['tokio-rt-worker', 1, 81];

// cpu 1: the target runs, the agent's thread takes 10-16 ms, the target again. cpu 0: the client
// runs, its V8 thread takes 40-48 ms.
const trace = [
  into(target, 1, 0, idle1),
  into(client, 0, 0, idle0),
  out(target, 1, 10, agent),
  into(target, 1, 16, agent),
  out(client, 0, 40, clientV8),
  into(clientV8, 0, 40.01, client),
  out(clientV8, 0, 48, client),
  into(client, 0, 48.01, clientV8),
  out(target, 1, 100, idle1),
  out(client, 0, 100, idle0),
  'perf  2864/2864 a line of something else',
].join('\n');
const at = (ms: number) => 1_000_000 + ms;
const roles = { targetPid: 100, clientPid: 200 };
const names = (pid: number) => (pid === 1 ? 'process_api' : undefined);

describe('who held the cpus', () => {
  it("reads each thread's runs between switches, a hidden thread's from the other side's records", () => {
    const slices = parseSwitches(trace, names);
    expect(slices.filter((s) => s.tid === 81)).toEqual([
      { cpu: 1, from: at(10), to: at(16), comm: 'process_api', tid: 81, pid: 1 },
    ]);
    const v8 = slices.filter((s) => s.tid === 203);
    expect(v8.map((s) => [s.cpu, s.comm, s.pid])).toEqual([
      [0, 'V8Worker', 200],
      [0, 'V8Worker', 200],
    ]);
    expect(v8[0]!.from).toBe(at(40));
    expect(v8[1]!.to).toBe(at(48));
    expect(parseSwitches(trace).find((s) => s.tid === 81)?.comm).toBe('pid 1');
  });

  it('groups slow requests due within 5 ms of each other', () => {
    const slow = [11, 12, 15, 41, 45, 60].map((ms) => ({ dueMs: at(ms), latencyMs: 6 }));
    expect(bursts(slow).map((b) => b.requests)).toEqual([3, 2, 1]);
  });

  it("puts each burst down to the thread that held a cpu longest, not the pair's main threads", () => {
    const slow = [11, 12, 15, 41, 43, 47, 70].map((ms) => ({ dueMs: at(ms), latencyMs: 6 }));
    const held = attribute(slow, parseSwitches(trace, names), roles);
    expect(Object.fromEntries(held)).toEqual({
      'process_api (pid 1) on cpu 1': 3,
      "the client's V8Worker on cpu 0": 3,
      'nothing else (the target itself)': 1,
    });
  });

  it('leaves a burst to the target when no other thread held a cpu for 1 ms', () => {
    const kdamond: Task = ['kdamond.0', 83, 83];
    const short = [
      into(target, 1, 0, idle1),
      out(target, 1, 10, kdamond),
      into(kdamond, 1, 10, target),
      out(kdamond, 1, 10.5, target),
      into(target, 1, 10.5, kdamond),
      out(target, 1, 30, idle1),
    ].join('\n');
    const slow = [{ dueMs: at(10), latencyMs: 5 }];
    expect(Object.fromEntries(attribute(slow, parseSwitches(short), roles))).toEqual({
      'nothing else (the target itself)': 1,
    });
    expect(Object.fromEntries(attribute(slow, parseSwitches(short), roles, 0.2))).toEqual({
      'kdamond.0 (pid 83) on cpu 1': 1,
    });
  });
});
