import { halfOf, median, p99Runs, type EvenRateResult } from './even-rate.js';
import type { LoadResult } from './load-process.js';
import type { Target } from './targets.js';

/** One alternating pair: bare+log then the service, same connection mode, back to back. */
export interface RatioPair {
  newConn: boolean;
  round: number;
  bareLog: LoadResult & { cpuUsPerAlert: number };
  service: LoadResult & { cpuUsPerAlert: number };
}

/**
 * One target at an even rate (bench/paced-load.ts), half the service's maximum in that connection
 * mode, alternating with the other target (bench/even-rate.ts): its latency, and its CPU per alert
 * when both targets carry the same load (the senders then sleep between alerts alike, as Falco's do,
 * instead of waiting on the slower server only).
 */
export type RatioLatency = EvenRateResult & { newConn: boolean };

type Measure = (target: Target, newConn: boolean) => Promise<{ result: LoadResult; cpuUsPerAlert: number }>;

/**
 * The service against the floor of a durable receiver (bare+log), alternating the two `rounds`
 * times per connection mode so a slow minute on this shared VM hits both alike.
 */
export async function measureIngestRatio(
  targets: { bareLog: Target; service: Target },
  rounds: number,
  measure: Measure,
  log: (line: string) => void,
): Promise<RatioPair[]> {
  const pairs: RatioPair[] = [];
  for (const newConn of [false, true]) {
    for (let round = 1; round <= rounds; round++) {
      log(`ratio ${newConn ? 'new-conn' : 'keep-alive'} round ${round}/${rounds}`);
      const bare = await measure(targets.bareLog, newConn);
      const service = await measure(targets.service, newConn);
      pairs.push({
        newConn,
        round,
        bareLog: { ...bare.result, cpuUsPerAlert: bare.cpuUsPerAlert },
        service: { ...service.result, cpuUsPerAlert: service.cpuUsPerAlert },
      });
    }
  }
  return pairs;
}

const fixed = (value: number, digits = 0) => value.toFixed(digits);

/** The rate for the even-rate runs: half the service's median alerts/s in the pairs of that mode. */
export function halfServiceRate(pairs: RatioPair[], newConn: boolean): number {
  const rates = pairs.filter((p) => p.newConn === newConn).map((p) => p.service.alertsPerSecond);
  return halfOf(median(rates));
}

/** The pairs as Markdown: one row per pair, then the median ratio per connection mode, then latency. */
export function renderIngestRatio(pairs: RatioPair[], latency: RatioLatency[] = []): string {
  const lines = [
    '| connection | round | bare+log alerts/s | service alerts/s | ratio | bare+log us/alert | service us/alert | ratio by CPU | service p99 ms | non-2xx+errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const p of pairs) {
    lines.push(
      `| ${p.newConn ? 'new per request' : 'keep-alive'} | ${p.round} | ${fixed(p.bareLog.alertsPerSecond)} | ` +
        `${fixed(p.service.alertsPerSecond)} | ${fixed(p.service.alertsPerSecond / p.bareLog.alertsPerSecond, 2)} | ` +
        `${fixed(p.bareLog.cpuUsPerAlert)} | ${fixed(p.service.cpuUsPerAlert)} | ` +
        `${fixed(p.bareLog.cpuUsPerAlert / p.service.cpuUsPerAlert, 2)} | ${fixed(p.service.p99Ms, 1)} | ` +
        `${p.service.non2xx + p.service.errors + p.bareLog.non2xx + p.bareLog.errors} |`,
    );
  }
  lines.push('');
  for (const newConn of [false, true]) {
    const mine = pairs.filter((p) => p.newConn === newConn);
    if (mine.length === 0) continue;
    const ratio = median(mine.map((p) => p.service.alertsPerSecond / p.bareLog.alertsPerSecond));
    const cpu = median(mine.map((p) => p.bareLog.cpuUsPerAlert / p.service.cpuUsPerAlert));
    lines.push(
      `- ${newConn ? 'connection per alert' : 'keep-alive'}: service / bare+log median ${fixed(ratio, 2)} x ` +
        `(by CPU per alert ${fixed(cpu, 2)} x) over ${mine.length} alternating pairs; target >= 0.8 x: ${ratio >= 0.8 ? 'met' : '**not met**'}`,
    );
  }
  for (const run of latency) {
    const verdict =
      run.target === 'service' ? `; target < 5 ms: ${run.p99Ms < 5 ? 'met' : '**not met**'}` : '';
    lines.push(
      `- ${run.target}, ${run.newConn ? 'a connection per alert' : 'keep-alive'}, at an even ${run.rate} alerts/s (half the service's maximum), ` +
        `median of ${run.runs.length} alternating runs: p50 ${fixed(run.p50Ms, 2)} ms, p99 ${fixed(run.p99Ms, 2)} ms (runs, with the client's longest freeze: ${p99Runs(run)})${verdict}; ` +
        `${fixed(run.cpuUsPerAlert)} us of CPU per alert`,
    );
  }
  for (const newConn of [false, true]) {
    const bare = latency.find((run) => run.newConn === newConn && run.target !== 'service');
    const service = latency.find((run) => run.newConn === newConn && run.target === 'service');
    if (!bare || !service) continue;
    const mode = newConn ? 'connection per alert' : 'keep-alive';
    lines.push(
      `- ${mode} at the same even rate: service / bare+log by CPU per alert ${fixed(bare.cpuUsPerAlert / service.cpuUsPerAlert, 2)} x`,
    );
    // What an alert alone in its turn costs on top of its work in the pairs, where senders share
    // turns, and how busy that keeps each target's core at this rate (BENCHMARKS.md, session 48).
    const mine = pairs.filter((p) => p.newConn === newConn);
    const closedLoop = (of: (p: RatioPair) => number) => median(mine.map(of));
    const alone = (run: RatioLatency, closed: number) =>
      `${fixed(run.cpuUsPerAlert - closed)} us on top of ${fixed(closed)}, its core busy ${fixed((run.rate * run.cpuUsPerAlert) / 1e6, 2)} of the time`;
    if (mine.length > 0)
      lines.push(
        `- ${mode}, an alert alone in its turn at this rate: service ${alone(
          service,
          closedLoop((p) => p.service.cpuUsPerAlert),
        )}; ` +
          `bare+log ${alone(
            bare,
            closedLoop((p) => p.bareLog.cpuUsPerAlert),
          )} (us of CPU per alert over the pairs' median)`,
      );
  }
  return `${lines.join('\n')}\n`;
}
