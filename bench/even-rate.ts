/** One even-rate run (bench/paced-load.ts) of one target. */
export interface EvenRateRun {
  p50Ms: number;
  p99Ms: number;
  cpuUsPerAlert: number;
  /** The client's own longest freeze in the measured window, ms (LoadResult's clientFreeze). */
  clientFreezeMs: number;
}

/**
 * A target's even-rate runs in order, the median of each measure over them, and its runs of the
 * rounds set aside because a client froze (`frozen`, in order; see alternateEvenRate).
 */
export interface EvenRateResult extends EvenRateRun {
  target: string;
  rate: number;
  runs: EvenRateRun[];
  frozen: EvenRateRun[];
}

/** The middle value (the upper one of an even count); NaN for none. */
export const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/**
 * A round in which a client froze for longer than this at once measured the VM more than its
 * targets: in calm runs the client's polling loop stops for 3 to 8 ms at most (session 26, 2-vCPU
 * VM), and in a script's run where it stopped for 31 ms at once (103 ms in all) the service's p99
 * was 14.0 ms, then 2.38 and 1.44 in the two runs after it. The target runs on the other cpu; what
 * it makes the client's cpu do (the kernel's loopback receive of each request runs on the sender's
 * cpu, and the client reads what the target answers) is microseconds per alert.
 */
export const CLIENT_FROZEN_MS = 10;
/** How many rounds each call of alternateEvenRate may set aside and run again (each about 20 s). */
export const FROZEN_REPEATS = 2;

/**
 * The targets at their even rates, alternating them `rounds` times (a, b, a, b, ...), each measure
 * the median of its runs. On this shared VM one 5 s run's p99 follows the minute it falls in: in
 * single runs bare+log alone had 1.0 to 8.5 ms at the same connection-per-alert rate, and requests
 * over 10 ms came in bursts for both targets in some runs and in none of others. Alternating runs
 * put a slow minute on both targets alike, as the ingest ratio's pairs do.
 *
 * A round in which any target's client froze for over CLIENT_FROZEN_MS (or did not report its
 * freezes) is set aside whole and run again at once, at most FROZEN_REPEATS times per call (one
 * payload's half-rate runs, or one connection mode of the ratio section); past that a frozen round
 * is kept. Setting aside the round, not the one run, keeps the targets paired through the same
 * minutes and the same filter, and the reports list what was set aside.
 */
export async function alternateEvenRate<T extends { name: string }>(
  targets: Array<{ target: T; rate: number }>,
  rounds: number,
  run: (target: T, rate: number) => Promise<EvenRateRun>,
  log: (line: string) => void,
): Promise<EvenRateResult[]> {
  const runs = targets.map((): EvenRateRun[] => []);
  const frozen = targets.map((): EvenRateRun[] => []);
  let repeats = 0;
  let round = 1;
  while (round <= rounds) {
    const results: EvenRateRun[] = [];
    for (const { target, rate } of targets) {
      log(`even rate ${target.name} at ${rate}/s, round ${round}/${rounds}`);
      results.push(await run(target, rate));
    }
    const longest = Math.max(...results.map((r) => r.clientFreezeMs));
    // A run that did not report its client's freezes (NaN) is not known to be calm: it counts as frozen.
    const setAside = !(longest <= CLIENT_FROZEN_MS) && repeats < FROZEN_REPEATS;
    results.forEach((result, i) => (setAside ? frozen : runs)[i]!.push(result));
    if (setAside) {
      repeats++;
      const what = Number.isNaN(longest) ? 'did not report its freezes' : `froze for ${longest} ms at once`;
      log(`round ${round}: the client ${what}: the round set aside, run again`);
    } else round++;
  }
  return targets.map(({ target, rate }, i) => ({
    target: target.name,
    rate,
    runs: runs[i]!,
    frozen: frozen[i]!,
    p50Ms: median(runs[i]!.map((r) => r.p50Ms)),
    p99Ms: median(runs[i]!.map((r) => r.p99Ms)),
    cpuUsPerAlert: median(runs[i]!.map((r) => r.cpuUsPerAlert)),
    clientFreezeMs: median(runs[i]!.map((r) => r.clientFreezeMs)),
  }));
}

/**
 * A result's p99 per run with the client's longest freeze in that run (ms), then the runs set aside,
 * for a report: `1.20 (4.1), 2.00 (5.0), 1.90 (6.2); set aside: 13.99 (30.6)`.
 */
export const p99Runs = (result: { runs: EvenRateRun[]; frozen: EvenRateRun[] }): string => {
  const list = (runs: EvenRateRun[]) =>
    runs.map((r) => `${r.p99Ms.toFixed(2)} (${r.clientFreezeMs.toFixed(1)})`).join(', ');
  return result.frozen.length === 0
    ? list(result.runs)
    : `${list(result.runs)}; set aside: ${list(result.frozen)}`;
};

/** Half of a maximum rate in alerts/s, for the even-rate runs: whole alerts, at least one. */
export const halfOf = (alertsPerSecond: number): number => Math.max(1, Math.round(alertsPerSecond / 2));
