import * as z from 'zod';

/** The longest delay setTimeout and setInterval keep (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

const tooLong = (unit: string, max: number) =>
  `must be at most ${max} ${unit} (the longest timer Node keeps, about 24.8 days; a longer one fires at once)`;

/**
 * A duration in ms that ends up in a timer, `min` or more: Node fires a longer one after 1 ms (with
 * a TimeoutOverflowWarning), so a verify window of 2^31 ms ended before its run did.
 */
export const timerMs = (min: number) =>
  z.coerce.number().int().min(min).max(MAX_TIMER_MS, tooLong('ms', MAX_TIMER_MS));

/** The same bound for a duration given in seconds. */
export const timerSeconds = (min: number) => {
  const max = Math.floor(MAX_TIMER_MS / 1000);
  return z.coerce.number().int().min(min).max(max, tooLong('s', max));
};
