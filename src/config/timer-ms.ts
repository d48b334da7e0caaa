import { numberSetting } from './env-number.js';

/** The longest delay setTimeout and setInterval keep (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

const timerNote = (unit: string) =>
  ` (${unit}; the longest timer Node keeps, about 24.8 days: a longer one fires at once)`;

/**
 * A duration in ms that ends up in a timer, `min` or more: Node fires a longer one after 1 ms (with
 * a TimeoutOverflowWarning), so a verify window of 2^31 ms ended before its run did.
 */
export const timerMs = (min: number) => numberSetting(min, { max: MAX_TIMER_MS, note: timerNote('ms') });

/** The same bound for a duration given in seconds. */
export const timerSeconds = (min: number) =>
  numberSetting(min, { max: Math.floor(MAX_TIMER_MS / 1000), note: timerNote('s') });
