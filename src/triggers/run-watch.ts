import type { StoredAlert } from '../alerts/stored-alert.js';
import type { TriggerRun } from './trigger-run.js';
import type { ExpectedDetection } from './verify-run.js';

/** Alerts of an expected rule kept per run until what it started is known (pods appear late). */
export const MAX_HELD_ALERTS = 64;
/** And their request bytes together: anyone who can post could otherwise hold 64 bodies of 1 MiB per run. */
export const MAX_HELD_BYTES = 1024 * 1024;
/**
 * How far a node's clock may lag ours where only the event time can tell a run's alert from an
 * earlier one (a pod name that recurs): an event this long before the run started is not its.
 */
export const CLOCK_SKEW_MS = 5_000;

/** One run's verification window as the verifier keeps it. */
export interface Watch {
  run: TriggerRun;
  expected: ExpectedDetection[];
  startMs: number;
  /** Where the window ends: an alert received later is not the run's. */
  endMs: number;
  /** Unset while a taken-over run catches up with the stored alerts. */
  timer?: NodeJS.Timeout;
  /**
   * Its timer fired while the trigger still ran. The timer, not `endMs` on the wall clock, ends the
   * window of a live watch: a step of this node's clock (NTP) would move that end.
   */
  windowEnded?: boolean;
  /** Alerts of an expected rule that did not (yet) match, newest last. */
  held: StoredAlert[];
  /** Their request bytes together. */
  heldBytes: number;
}

/**
 * Alerts received after the window cannot be its detection (what Falco's clock says, the matcher
 * reads): live ones once its timer fired, stored ones read on a takeover past `endMs`. No bound
 * before the start: the receive time is the clock of the replica that received the alert, the
 * start this one's (minutes apart, or one stepped back by NTP), and what ties an alert to the run
 * (nonce, pod uid, container id) exists only since the run; a pod name, which can recur, ties only
 * with an event time after the start.
 */
export const isCandidate = (watch: Watch, entry: StoredAlert): boolean =>
  !watch.windowEnded &&
  (watch.timer !== undefined || entry.receivedAtMs <= watch.endMs) &&
  watch.expected.some((expected) => expected.rule === entry.rule);

/** The alert already matched one of the run's expectations, or is held for it. */
export function seen(watch: Watch, id: string): boolean {
  return (
    watch.run.verification.expectations.some((expectation) => expectation.alertId === id) ||
    watch.held.some((held) => held.id === id)
  );
}

/** Keeps the newest held alerts within both bounds (the newest one is always kept). */
export function hold(watch: Watch, entry: StoredAlert): void {
  watch.held.push(entry);
  watch.heldBytes += entry.bytes;
  while (watch.held.length > MAX_HELD_ALERTS || (watch.heldBytes > MAX_HELD_BYTES && watch.held.length > 1))
    watch.heldBytes -= watch.held.shift()!.bytes;
}

export const allResolved = (watch: Watch): boolean =>
  watch.run.verification.expectations.every((expectation) => expectation.status !== 'pending');
