import { describe, expect, it } from 'vitest';
import {
  alternateEvenRate,
  CLIENT_FROZEN_MS,
  FROZEN_REPEATS,
  p99Runs,
  type EvenRateRun,
} from '../../bench/even-rate.js';

type Planned = [p99Ms: number, clientFreezeMs: number, cpuUsPerAlert?: number];

// Each target's runs, in the order they are measured, from a list of (p99, client freeze, CPU) per run.
function scripted(plan: Record<string, Planned[]>) {
  const calls: string[] = [];
  const run = (target: { name: string }): Promise<EvenRateRun> => {
    calls.push(target.name);
    const next = plan[target.name]!.shift();
    if (!next) throw new Error(`${target.name} ran more often than planned`);
    const [p99Ms, clientFreezeMs, cpuUsPerAlert = 50] = next;
    return Promise.resolve({ p50Ms: p99Ms / 2, p99Ms, cpuUsPerAlert, clientFreezeMs });
  };
  return { calls, run };
}

const targets = [
  { target: { name: 'bare+log' }, rate: 1000 },
  { target: { name: 'service' }, rate: 1000 },
];
const quiet = () => {};

describe('alternateEvenRate', () => {
  it('sets aside a whole round in which a client froze and runs that round again', async () => {
    const { calls, run } = scripted({
      'bare+log': [
        [1.5, 5, 40],
        [9.0, 6, 99],
        [1.6, 4, 41],
        [1.4, 6, 42],
      ],
      service: [
        [2.0, 5, 60],
        [14.0, 10.5, 199],
        [2.2, 4, 61],
        [2.1, 8, 62],
      ],
    });
    const [bare, service] = await alternateEvenRate(targets, 3, run, quiet);

    // Alternation holds through the repeat: the frozen round 2 is measured again for both targets.
    expect(calls).toEqual([
      'bare+log',
      'service',
      'bare+log',
      'service',
      'bare+log',
      'service',
      'bare+log',
      'service',
    ]);
    expect(service!.runs.map((r) => r.p99Ms)).toEqual([2.0, 2.2, 2.1]);
    expect(service!.frozen.map((r) => r.p99Ms)).toEqual([14.0]);
    expect(bare!.runs.map((r) => r.p99Ms)).toEqual([1.5, 1.6, 1.4]);
    expect(bare!.frozen.map((r) => r.p99Ms)).toEqual([9.0]);
    // Every median comes from the kept runs only.
    expect([service!.p50Ms, service!.p99Ms, service!.cpuUsPerAlert, service!.clientFreezeMs]).toEqual([
      1.05, 2.1, 61, 5,
    ]);
    expect([bare!.p50Ms, bare!.p99Ms, bare!.cpuUsPerAlert, bare!.clientFreezeMs]).toEqual([0.75, 1.5, 41, 5]);
    expect(p99Runs(service!)).toBe('2.00 (5.0), 2.20 (4.0), 2.10 (8.0); set aside: 14.00 (10.5)');
    expect(p99Runs(bare!)).toBe('1.50 (5.0), 1.60 (4.0), 1.40 (6.0); set aside: 9.00 (6.0)');
  });

  it('keeps a round whose longest freeze is at the limit', async () => {
    const { calls, run } = scripted({
      'bare+log': [[3, CLIENT_FROZEN_MS]],
      service: [[4, CLIENT_FROZEN_MS]],
    });
    const [bare, service] = await alternateEvenRate(targets, 1, run, quiet);
    expect(calls).toEqual(['bare+log', 'service']);
    expect([bare!.p99Ms, service!.p99Ms]).toEqual([3, 4]);
    expect([bare!.frozen, service!.frozen]).toEqual([[], []]);
    expect(p99Runs(service!)).toBe('4.00 (10.0)');
  });

  it('sets aside a round whose client did not report its freezes (NaN is not calm)', async () => {
    const lines: string[] = [];
    const { calls, run } = scripted({
      'bare+log': [
        [1.5, NaN],
        [1.6, 4],
      ],
      service: [
        [2.0, 5],
        [2.2, 6],
      ],
    });
    const [bare, service] = await alternateEvenRate(targets, 1, run, (line) => lines.push(line));
    expect(calls).toEqual(['bare+log', 'service', 'bare+log', 'service']);
    expect(bare!.runs.map((r) => r.p99Ms)).toEqual([1.6]);
    expect(bare!.frozen.map((r) => r.p99Ms)).toEqual([1.5]);
    expect(service!.frozen.map((r) => r.p99Ms)).toEqual([2.0]);
    expect(lines).toContain('round 1: the client did not report its freezes: the round set aside, run again');
  });

  it('sets aside at most FROZEN_REPEATS rounds per call, whichever target froze, then keeps frozen rounds', async () => {
    const frozenRuns = (first: number): Planned[] =>
      Array.from({ length: 2 + FROZEN_REPEATS }, (_, i) => [first + i, 40] as Planned);
    const { calls, run } = scripted({
      'bare+log': [[1, 40], ...frozenRuns(10).slice(1)],
      service: frozenRuns(20),
    });
    const [bare, service] = await alternateEvenRate(targets, 2, run, quiet);
    expect(calls).toHaveLength(2 * (2 + FROZEN_REPEATS));
    expect(service!.frozen.map((r) => r.p99Ms)).toEqual([20, 21]);
    expect(service!.runs.map((r) => r.p99Ms)).toEqual([22, 23]);
    expect(bare!.frozen.map((r) => r.p99Ms)).toEqual([1, 11]);
    expect(bare!.runs.map((r) => r.p99Ms)).toEqual([12, 13]);
    expect(service!.clientFreezeMs).toBe(40);
  });
});
