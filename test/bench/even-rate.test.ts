import { describe, expect, it } from 'vitest';
import {
  alternateEvenRate,
  CLIENT_FROZEN_MS,
  FROZEN_REPEATS,
  p99Runs,
  type EvenRateRun,
} from '../../bench/even-rate.js';

// Each target's runs, in the order they are measured, from a list of (p99, client freeze) pairs.
function scripted(plan: Record<string, Array<[p99Ms: number, clientFreezeMs: number]>>) {
  const calls: string[] = [];
  const run = (target: { name: string }): Promise<EvenRateRun> => {
    calls.push(target.name);
    const next = plan[target.name]!.shift();
    if (!next) throw new Error(`${target.name} ran more often than planned`);
    const [p99Ms, clientFreezeMs] = next;
    return Promise.resolve({ p50Ms: p99Ms / 10, p99Ms, cpuUsPerAlert: 50, clientFreezeMs });
  };
  return { calls, run };
}

const targets = [
  { target: { name: 'bare+log' }, rate: 1000 },
  { target: { name: 'service' }, rate: 1000 },
];
const quiet = () => {};

describe('alternateEvenRate', () => {
  it('sets aside a run whose client froze and measures that target again at once', async () => {
    const { calls, run } = scripted({
      'bare+log': [
        [1.5, 5],
        [1.6, 4],
        [1.4, 6],
      ],
      service: [
        [2.0, 5],
        [14.0, 31],
        [2.2, 4],
        [2.1, 8],
      ],
    });
    const [bare, service] = await alternateEvenRate(targets, 3, run, quiet);

    expect(calls).toEqual(['bare+log', 'service', 'bare+log', 'service', 'service', 'bare+log', 'service']);
    expect(service!.runs.map((r) => r.p99Ms)).toEqual([2.0, 2.2, 2.1]);
    expect(service!.frozen.map((r) => r.p99Ms)).toEqual([14.0]);
    expect(service!.p99Ms).toBe(2.1);
    expect(bare!.frozen).toEqual([]);
    expect(bare!.p99Ms).toBe(1.5);
    expect(p99Runs(service!)).toBe('2.00 (5), 2.20 (4), 2.10 (8); set aside: 14.00 (31)');
    expect(p99Runs(bare!)).toBe('1.50 (5), 1.60 (4), 1.40 (6)');
  });

  it('keeps a run whose freeze is at the limit', async () => {
    const { calls, run } = scripted({
      'bare+log': [[3, CLIENT_FROZEN_MS]],
      service: [[4, CLIENT_FROZEN_MS]],
    });
    const [bare, service] = await alternateEvenRate(targets, 1, run, quiet);
    expect(calls).toEqual(['bare+log', 'service']);
    expect([bare!.p99Ms, service!.p99Ms]).toEqual([3, 4]);
    expect(service!.frozen).toEqual([]);
  });

  it('repeats at most FROZEN_REPEATS frozen runs per target, then keeps the frozen ones', async () => {
    const always: Array<[number, number]> = Array.from({ length: 2 + FROZEN_REPEATS }, (_, i) => [
      20 + i,
      40,
    ]);
    const { calls, run } = scripted({
      'bare+log': [
        [1, 3],
        [1, 3],
      ],
      service: always,
    });
    const [, service] = await alternateEvenRate(targets, 2, run, quiet);
    expect(calls.filter((name) => name === 'service')).toHaveLength(2 + FROZEN_REPEATS);
    expect(service!.frozen.map((r) => r.p99Ms)).toEqual([20, 21]);
    expect(service!.runs.map((r) => r.p99Ms)).toEqual([22, 23]);
    expect(service!.clientFreezeMs).toBe(40);
  });
});
