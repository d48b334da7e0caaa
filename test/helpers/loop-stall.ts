import { performance } from 'node:perf_hooks';

/**
 * How long the event loop was held while `work` ran: the longest gap and the sum of gaps over 5 ms.
 * A gap counts only the CPU time the process used in it: on a loaded machine the process is also
 * off the CPU between two probes, and that time says nothing of the work that held the loop.
 */
export interface LoopStall<T> {
  value: T;
  longestMs: number;
  /** Time spent in gaps longer than 5 ms: roughly the loop's busy time, however it was split. */
  heldMs: number;
}

// A probe every millisecond: a gap between two probes is time the loop could not run timers.
const PROBE_MS = 1;
const HELD_FROM_MS = 5;

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Runs `work` with a timer probe beside it and reports the stalls the probe saw. */
export async function measureLoopStall<T>(work: () => Promise<T>): Promise<LoopStall<T>> {
  let last = performance.now();
  let lastCpu = cpuMs();
  let longestMs = 0;
  let heldMs = 0;
  const look = () => {
    const now = performance.now();
    const cpu = cpuMs();
    const gap = Math.min(now - last, cpu - lastCpu);
    last = now;
    lastCpu = cpu;
    longestMs = Math.max(longestMs, gap);
    if (gap > HELD_FROM_MS) heldMs += gap;
  };
  const probe = setInterval(look, PROBE_MS);
  try {
    const value = await work();
    // One more probe, so a stall at the very end is seen too.
    await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
    look();
    return { value, longestMs, heldMs };
  } finally {
    clearInterval(probe);
  }
}

/** The longest time, in milliseconds, that the event loop went without its 1 ms probe while `work` ran. */
export async function longestLoopStall(work: () => Promise<unknown>): Promise<number> {
  return (await measureLoopStall(work)).longestMs;
}
