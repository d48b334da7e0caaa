import type { TriggerRun } from './trigger-run.js';

const hasPending = (run: TriggerRun) =>
  run.verification.expectations.some((expectation) => expectation.status === 'pending');

/** Queued or running: its trigger has not ended. */
export const isUnfinished = (run: TriggerRun): boolean => run.status === 'queued' || run.status === 'running';

/** Ended with every expectation resolved: nothing about the run changes any more. */
export const isSettled = (run: TriggerRun): boolean => !isUnfinished(run) && !hasPending(run);

/** Succeeded and waiting for alerts: its window is open (or was, when its replica stopped). */
export const awaitsAlerts = (run: TriggerRun): boolean => run.status === 'succeeded' && hasPending(run);
