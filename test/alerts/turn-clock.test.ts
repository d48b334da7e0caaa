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

// The gaps between two runs of a timer chain: how long everything else (ingest, probes) waits.
function timerGaps(): { stop(): number[] } {
  const gaps: number[] = [];
  let last = performance.now();
  let timer: NodeJS.Timeout;
  const tick = () => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
    timer = setTimeout(tick, 0);
  };
  timer = setTimeout(tick, 0);
  return {
    stop() {
      clearTimeout(timer);
      return gaps;
    },
  };
}

describe('startTurnClock', () => {
  it('hands each loop turn to one paced reader: 16 at once hold the loop about one budget a turn, not 16', async () => {
    const probe = timerGaps();
    await pacedReaders(16, 40, []);
    const gaps = probe.stop().sort((a, b) => a - b);
    const p90 = gaps[Math.floor(gaps.length * 0.9)]!;

    // Each reader waiting for a turn of its own held the loop 16 x 2 ms = 32 ms a turn.
    expect(gaps.length).toBeGreaterThan(100);
    expect(p90).toBeLessThan(TURN_BUDGET_MS * 3);
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
