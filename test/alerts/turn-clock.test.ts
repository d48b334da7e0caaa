import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { startTurnClock, TURN_BUDGET_MS } from '../../src/alerts/turn-clock.js';

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

// `readers` pieces of paced work of `workMs` each, in units of 0.1 ms, as a store's list paces itself;
// each slice's reader id is noted in `slices`.
async function pacedReaders(readers: number, workMs: number, slices: number[]): Promise<void> {
  await Promise.all(
    Array.from({ length: readers }, async (_, id) => {
      const turn = startTurnClock();
      for (let done = 0; done < workMs; done += 0.1) {
        if (turn.spent()) {
          await turn.next();
          slices.push(id);
        }
        busy(0.1);
      }
    }),
  );
}

// The gaps between two runs of a timer chain: how long everything else (ingest, probes) waits, and
// how many slices of paced work (`resumed()`, a count the readers keep) ran in each. A gap is
// counted in the CPU time the process used in it, as loop-stall.ts does: on a loaded machine the
// process is also off the CPU between two runs, which says nothing of the work that held the loop.
function timerGaps(resumed: () => number): { stop(): { gaps: number[]; slices: number[] } } {
  const gaps: number[] = [];
  const slices: number[] = [];
  const cpuMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  let last = performance.now();
  let lastCpu = cpuMs();
  let lastResumed = resumed();
  let timer: NodeJS.Timeout;
  const tick = () => {
    const now = performance.now();
    const cpu = cpuMs();
    gaps.push(Math.min(now - last, cpu - lastCpu));
    slices.push(resumed() - lastResumed);
    last = now;
    lastCpu = cpu;
    lastResumed = resumed();
    timer = setTimeout(tick, 0);
  };
  timer = setTimeout(tick, 0);
  return {
    stop() {
      clearTimeout(timer);
      return { gaps, slices };
    },
  };
}

describe('startTurnClock', () => {
  it('hands each loop turn to one paced reader: 16 at once hold the loop about one budget a turn, not 16', async () => {
    const slices: number[] = [];
    const probe = timerGaps(() => slices.length);
    await pacedReaders(16, 40, slices);
    const { gaps, slices: perGap } = probe.stop();
    const p90 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.9)]!;

    // Each reader waiting for a turn of its own resumed all 16 in every turn (16 slices a gap, 25
    // gaps) and held the loop 16 x 2 ms = 32 ms a turn. The count does not depend on the machine's
    // load (one slice a gap, now and then two); the gaps in wall time did: p90 2.1-2.5 ms on a quiet
    // machine, 5.9-8.5 ms beside two busy loops, against 6. In CPU time it is 2.1-2.4 ms either way.
    expect(gaps.length).toBeGreaterThan(100);
    expect(p90(perGap)).toBeLessThanOrEqual(1);
    expect(p90(gaps)).toBeLessThan(TURN_BUDGET_MS * 3);
  });

  it('gives the waiting readers their turns in rotation, so none starves behind the others', async () => {
    const slices: number[] = [];
    await pacedReaders(8, 20, slices);

    // Every reader waits after its first slice; from then on each round of 8 turns serves all 8.
    for (let round = 0; round + 8 <= Math.min(slices.length, 48); round += 8) {
      expect(new Set(slices.slice(round, round + 8)).size).toBe(8);
    }
  });
});
