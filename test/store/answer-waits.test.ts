import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAnswerWaits } from '../../src/store/answer-waits.js';

// Whether `promise` has settled, after the microtasks queued so far have run.
async function settled(promise: Promise<void> | undefined): Promise<boolean> {
  let done = false;
  void promise?.then(() => (done = true));
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe('answer waits', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('lets an answer go once every alert numbered before it is written, not before', async () => {
    const answers = createAnswerWaits({ maxWaitMs: 500 });
    answers.next();
    const first = answers.wait();
    answers.next();
    const second = answers.wait();

    answers.written(1);
    expect(await settled(first)).toBe(true);
    expect(await settled(second)).toBe(false);
    answers.written(2);
    expect(await settled(second)).toBe(true);
  });

  it('does not wait when every alert numbered so far is written', () => {
    const answers = createAnswerWaits({ maxWaitMs: 500 });
    expect(answers.wait()).toBeUndefined();
    answers.written(answers.next());
    expect(answers.wait()).toBeUndefined();
  });

  it('lets every waiting answer go after maxWaitMs, and later ones at once until writes are healthy again', async () => {
    const answers = createAnswerWaits({ maxWaitMs: 500 });
    answers.next();
    const waiting = answers.wait();
    vi.advanceTimersByTime(499);
    expect(await settled(waiting)).toBe(false);
    vi.advanceTimersByTime(1);
    expect(await settled(waiting)).toBe(true);

    answers.next();
    expect(answers.wait()).toBeUndefined();
    answers.healthy();
    answers.next();
    expect(answers.wait()).toBeInstanceOf(Promise);
  });

  it('gives the deadline to each answer from when it began to wait', async () => {
    const answers = createAnswerWaits({ maxWaitMs: 500 });
    answers.next();
    const early = answers.wait();
    vi.advanceTimersByTime(300);
    answers.next();
    const late = answers.wait();
    answers.written(1);
    vi.advanceTimersByTime(300);
    expect(await settled(early)).toBe(true);
    expect(await settled(late)).toBe(false);
    vi.advanceTimersByTime(200);
    expect(await settled(late)).toBe(true);
  });

  // Regression: the wait was timed on the wall clock: an NTP step back of an hour while Redis hung
  // held every ingest answer (Falco's http_output with it) for that hour instead of maxWaitMs.
  it('lets a waiting answer go after maxWaitMs though the wall clock steps back meanwhile', async () => {
    const answers = createAnswerWaits({ maxWaitMs: 500 });
    answers.next();
    const waiting = answers.wait();

    // The wall clock only: timers (and performance.now()) go on as they were.
    vi.setSystemTime(Date.now() - 3_600_000);
    vi.advanceTimersByTime(500);

    expect(await settled(waiting)).toBe(true);
  });

  it('lets every waiting answer go at once when writes fail', async () => {
    const answers = createAnswerWaits({ maxWaitMs: 500 });
    answers.next();
    const waiting = answers.wait();
    answers.giveUp();
    expect(await settled(waiting)).toBe(true);
    answers.next();
    expect(answers.wait()).toBeUndefined();
  });
});
