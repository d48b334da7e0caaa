import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAnswerWaits, type AnswerWaits } from '../../src/store/answer-waits.js';

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

  // What the write queue may drop when full: only alerts whose answers went (redis-alert-writes.ts).
  it("says an alert's answer waits from its numbering until it is given, once written", () => {
    const answers = createAnswerWaits({ maxWaitMs: 500 });
    const first = answers.next();
    // Its turn not in yet: its answer will wait.
    expect(answers.waitsFor(first)).toBe(true);
    void answers.wait();
    const second = answers.next();
    void answers.wait();
    answers.written(first);
    expect([answers.waitsFor(first), answers.waitsFor(second)]).toEqual([false, true]);
    answers.written(second);
    expect(answers.waitsFor(second)).toBe(false);
  });

  // Skipped: its turn found the store unreachable (one that waited before is below).
  it.each([
    {
      how: 'writes fail',
      letGo: (answers: AnswerWaits) => {
        void answers.wait();
        answers.giveUp();
      },
    },
    { how: 'the store is unreachable', letGo: (answers: AnswerWaits) => answers.skip() },
  ])('says no answer waits for the alerts numbered before $how', ({ letGo }) => {
    const answers = createAnswerWaits({ maxWaitMs: 500 });
    const seq = answers.next();
    letGo(answers);
    expect(answers.waitsFor(seq)).toBe(false);
  });

  // An answer that waits while a later turn finds the store unreachable (a link that drops between
  // rounds and comes back within maxWaitMs) still waits: its alert must not be dropped unwritten, or
  // the next round's write lets its answer go 202 though Redis never had it (a review).
  it("says an answer still waits after a later turn's alerts are skipped, and theirs does not", async () => {
    const answers = createAnswerWaits({ maxWaitMs: 500 });
    const first = answers.next();
    const waiting = answers.wait();
    const skipped = answers.next();
    answers.skip();
    expect([answers.waitsFor(first), answers.waitsFor(skipped)]).toEqual([true, false]);
    expect(await settled(waiting)).toBe(false);
    const later = answers.next();
    void answers.wait();
    expect(answers.waitsFor(later)).toBe(true);
    answers.written(skipped);
    expect([answers.waitsFor(first), answers.waitsFor(later)]).toEqual([false, true]);
  });

  it('says no answer waits while they go at once (lagging), and again once writes are healthy', () => {
    const answers = createAnswerWaits({ maxWaitMs: 500 });
    answers.giveUp();
    const lagging = answers.next();
    expect(answers.waitsFor(lagging)).toBe(false);
    expect(answers.wait()).toBeUndefined();
    answers.healthy();
    expect(answers.waitsFor(lagging)).toBe(false);
    expect(answers.waitsFor(answers.next())).toBe(true);
  });
});
