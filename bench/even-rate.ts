import type { Target } from './targets.js';

/** One even-rate run (bench/paced-load.ts) of one target. */
export interface EvenRateRun {
  p50Ms: number;
  p99Ms: number;
  cpuUsPerAlert: number;
}

/** A target's even-rate runs in order, and the median of each measure over them. */
export interface EvenRateResult extends EvenRateRun {
  target: string;
  rate: number;
  runs: EvenRateRun[];
}

/** The middle value (the upper one of an even count); NaN for none. */
export const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/**
 * The targets at their even rates, alternating them `rounds` times (a, b, a, b, ...), each measure
 * the median of its runs. On this shared VM one 5 s run's p99 follows the minute it falls in: in
 * single runs bare+log alone had 1.0 to 8.5 ms at the same connection-per-alert rate, and requests
 * over 10 ms came in bursts for both targets in some runs and in none of others. Alternating runs
 * put a slow minute on both targets alike, as the ingest ratio's pairs do.
 */
export async function alternateEvenRate(
  targets: Array<{ target: Target; rate: number }>,
  rounds: number,
  run: (target: Target, rate: number) => Promise<EvenRateRun>,
  log: (line: string) => void,
): Promise<EvenRateResult[]> {
  const runs = targets.map((): EvenRateRun[] => []);
  for (let round = 1; round <= rounds; round++) {
    for (const [i, { target, rate }] of targets.entries()) {
      log(`even rate ${target.name} at ${rate}/s, round ${round}/${rounds}`);
      runs[i]!.push(await run(target, rate));
    }
  }
  return targets.map(({ target, rate }, i) => ({
    target: target.name,
    rate,
    runs: runs[i]!,
    p50Ms: median(runs[i]!.map((r) => r.p50Ms)),
    p99Ms: median(runs[i]!.map((r) => r.p99Ms)),
    cpuUsPerAlert: median(runs[i]!.map((r) => r.cpuUsPerAlert)),
  }));
}

/** A result's p99 per run, for a report: `1.2, 3.4, 2.0`. */
export const p99Runs = (result: { runs: EvenRateRun[] }): string =>
  result.runs.map((r) => r.p99Ms.toFixed(2)).join(', ');

/** Half of a maximum rate in alerts/s, for the even-rate runs: whole alerts, at least one. */
export const halfOf = (alertsPerSecond: number): number => Math.max(1, Math.round(alertsPerSecond / 2));
