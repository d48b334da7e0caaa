/**
 * Lets at most `max` stream pages be read at once, the others waiting their turn in arrival order.
 * A page is up to about 4 MB (page-size.ts) and the reply being parsed as much again: 18 lists at
 * once, each with its page, ran a 128 MB heap out of memory, and queued their replies on the link
 * past its 2 s deadline. Redis and the event loop each do one thing at a time, so more pages at
 * once would not be read sooner.
 */
export function createPageTurns(max: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  const done = () => {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  };
  return {
    /** Resolves with the function that ends the turn (call it once) when the page may be read. */
    async take(): Promise<() => void> {
      if (running < max) running += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        done();
      };
    },
    /** Reads waiting for a turn now. */
    waiting: () => waiting.length,
  };
}
