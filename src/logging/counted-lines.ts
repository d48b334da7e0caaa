import type { EventEmitter } from 'node:events';
import { callerAddress } from './caller-address.js';

/**
 * Log lines for something that may happen many times a second: the first at once, then at most a
 * line per `everyMs` with the count since the line before, and what is left once it stops
 * happening (a timer, unref'd) or at `flush`, so the lines add up to the count.
 */
export interface CountedLines<T> {
  /** `count` more happened, the newest telling `latest`. */
  add(count: number, latest: T): void;
  /** Logs what is not in a line yet (the owner stops). */
  flush(): void;
}

/**
 * `onQuiet` is called when a period ends with nothing to log: the next `add` is logged at once, as
 * the first was, so an owner keeping many of these may forget this one.
 */
export function countedLines<T>(
  everyMs: number,
  log: (count: number, latest: T) => void,
  onQuiet?: () => void,
): CountedLines<T> {
  let unlogged = 0;
  let latest: T | undefined;
  let quiet: NodeJS.Timeout | undefined;
  const write = () => {
    if (unlogged === 0) return;
    const count = unlogged;
    unlogged = 0;
    log(count, latest as T);
  };
  const endQuiet = () => {
    quiet = undefined;
    if (unlogged === 0) return onQuiet?.();
    write();
    quiet = setTimeout(endQuiet, everyMs).unref();
  };
  return {
    add(count, newest) {
      if (count === 0) return;
      unlogged += count;
      latest = newest;
      if (quiet) return;
      write();
      quiet = setTimeout(endQuiet, everyMs).unref();
    },
    flush() {
      clearTimeout(quiet);
      quiet = undefined;
      write();
    },
  };
}

/** Counted lines per reason, each line naming its reason's newest caller (see callerLines). */
export interface CallerLines<R extends string> {
  /** One more of `reason`, from the peer at `address` (named as log lines name it: callerAddress). */
  add(reason: R, address: string): void;
  /** Logs what every reason's period holds back. */
  flush(): void;
}

/**
 * A `countedLines` for each of `reasons`: `log` writes a reason's line with its count since the line
 * before and the newest caller's address.
 */
export function callerLines<R extends string>(
  reasons: readonly R[],
  everyMs: number,
  log: (reason: R, count: number, caller: string) => void,
): CallerLines<R> {
  const byReason = new Map(
    reasons.map((reason) => [
      reason,
      countedLines<string>(everyMs, (count, caller) => log(reason, count, caller)),
    ]),
  );
  return {
    add: (reason, address) => byReason.get(reason)!.add(1, callerAddress(address)),
    flush: () => byReason.forEach((lines) => lines.flush()),
  };
}

/**
 * Calls `flush` when `listener` closes, or at the process's exit if it never does, so the lines a
 * period held back are written (the timers are unref'd and would not run).
 */
export function flushWhenClosed(listener: EventEmitter, flush: () => void): void {
  process.once('exit', flush);
  listener.on('close', () => {
    flush();
    process.off('exit', flush);
  });
}
