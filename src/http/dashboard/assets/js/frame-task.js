// @ts-check
// Live alerts can come faster than the screen refreshes (a burst, a replay after a reconnect):
// work that only changes what is drawn runs once per frame, however often it is asked for.

/**
 * @param {() => void} task
 * @returns {() => void} asks for one run of `task` before the next frame is painted
 */
export function createFrameTask(task) {
  let asked = false;
  return () => {
    if (asked) return;
    asked = true;
    requestAnimationFrame(() => {
      asked = false;
      task();
    });
  };
}
