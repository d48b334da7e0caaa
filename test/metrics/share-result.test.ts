import { describe, expect, it } from 'vitest';
import { shareResult } from '../../src/metrics/share-result.js';

/** A produce function whose runs the test finishes by hand, counting them. */
function manualRuns() {
  const finish: Array<(value: string | Error) => void> = [];
  const produce = () =>
    new Promise<string>((resolve, reject) =>
      finish.push((value) => (value instanceof Error ? reject(value) : resolve(value))),
    );
  // Calls `shared`, finishes the newest run with `value` and returns what the call got.
  const callAndFinish = (shared: () => Promise<string>, value: string | Error) => {
    const answer = shared();
    finish.at(-1)!(value);
    return answer;
  };
  return { produce, callAndFinish, runs: () => finish.length };
}

describe('shareResult', () => {
  it('gives the callers that come while a run is under way that run, not one each', async () => {
    const { produce, callAndFinish, runs } = manualRuns();
    const shared = shareResult(produce, { reuseMs: 0 });

    const answers = Promise.all([shared(), shared(), callAndFinish(shared, 'first')]);

    expect(await answers).toEqual(['first', 'first', 'first']);
    expect(runs()).toBe(1);
  });

  it('hands a finished result out again for reuseMs, then runs anew', async () => {
    let clock = 0;
    const { produce, callAndFinish, runs } = manualRuns();
    const shared = shareResult(produce, { reuseMs: 1000, now: () => clock });
    await callAndFinish(shared, 'first');

    clock = 999;
    expect(await shared()).toBe('first');
    expect(runs()).toBe(1);
    clock = 1000;
    expect(await callAndFinish(shared, 'second')).toBe('second');
    expect(runs()).toBe(2);
  });

  it('keeps nothing with reuseMs 0: a caller after the run starts the next one', async () => {
    const { produce, callAndFinish, runs } = manualRuns();
    const shared = shareResult(produce, { reuseMs: 0 });
    await callAndFinish(shared, 'first');

    expect(await callAndFinish(shared, 'second')).toBe('second');
    expect(runs()).toBe(2);
  });

  it('gives a failure to the callers that shared the run and does not keep it', async () => {
    const { produce, callAndFinish, runs } = manualRuns();
    const shared = shareResult(produce, { reuseMs: 1000, now: () => 0 });

    const failed = [shared(), callAndFinish(shared, new Error('primary did not answer'))];

    for (const answer of failed) await expect(answer).rejects.toThrow('primary did not answer');
    expect(await callAndFinish(shared, 'rendered')).toBe('rendered');
    expect(runs()).toBe(2);
  });
});
