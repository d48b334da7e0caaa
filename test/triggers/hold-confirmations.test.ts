import { describe, expect, it } from 'vitest';
import { createHoldConfirmations } from '../../src/triggers/hold-confirmations.js';

describe('createHoldConfirmations', () => {
  const clock = () => {
    const state = { nowMs: 0 };
    return Object.assign(state, { now: () => state.nowMs });
  };

  it('lapses a run held here once no hold was confirmed for the retention', () => {
    const time = clock();
    const holds = createHoldConfirmations(1_000, time.now);
    holds.confirm('run');
    time.nowMs = 900;
    holds.confirm('run');

    time.nowMs = 1_899;
    const before = holds.lapsed('run');
    time.nowMs = 1_900;

    expect(before).toBe(false);
    expect(holds.lapsed('run')).toBe(true);
  });

  it('never lapses a run whose hold was never confirmed (started while the store was unreachable) or was forgotten', () => {
    const time = clock();
    const holds = createHoldConfirmations(1_000, time.now);
    holds.confirm('settled');
    holds.forget('settled');

    time.nowMs = 10_000;

    expect(holds.lapsed('never-held')).toBe(false);
    expect(holds.lapsed('settled')).toBe(false);
  });
});
