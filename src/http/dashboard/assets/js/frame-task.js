// @ts-check
// Live alerts can come faster than the screen refreshes (a burst, a replay after a reconnect):
// work that only changes what is drawn runs once per frame at most (or once per minGapMs),
// however often it is asked for.

/**
 * @param {() => void} task
 * @param {number} [minGapMs] runs at most once in this many ms (the first run after a pause at once)
 * @returns {() => void} asks for one run of `task` before the next frame is painted
 */
export function createFrameTask(task, minGapMs = 0) {
  let asked = false;
  let lastRun = -Infinity;
  const run = () => {
    const wait = lastRun + minGapMs - performance.now();
    if (wait > 0) {
      setTimeout(() => requestAnimationFrame(run), wait);
      return;
    }
    asked = false;
    lastRun = performance.now();
    task();
  };
  return () => {
    if (asked) return;
    asked = true;
    requestAnimationFrame(run);
  };
}
