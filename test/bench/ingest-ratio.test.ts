import { describe, expect, it } from 'vitest';
import { renderIngestRatio, type RatioLatency, type RatioPair } from '../../bench/ingest-ratio.js';
import type { LoadResult } from '../../bench/load-process.js';

const load = (alertsPerSecond: number, cpuUsPerAlert: number): LoadResult & { cpuUsPerAlert: number } => ({
  ok2xx: alertsPerSecond * 5,
  non2xx: 0,
  errors: 0,
  durationSeconds: 5,
  alertsPerSecond,
  p50Ms: 1,
  p99Ms: 2,
  cpuUsPerAlert,
});

const pair = (round: number, bareLogUs: number, serviceUs: number): RatioPair => ({
  newConn: true,
  round,
  bareLog: load(9000, bareLogUs),
  service: load(7500, serviceUs),
});

const even = (target: string, cpuUsPerAlert: number): RatioLatency => {
  const run = { p50Ms: 0.2, p99Ms: 3, cpuUsPerAlert, clientFreezeMs: 1 };
  return { ...run, target, rate: 3600, runs: [run], frozen: [], newConn: true };
};

describe('renderIngestRatio', () => {
  it("tells what an alert alone in its turn costs on top of the pairs' median, and how busy the rate keeps each core", () => {
    const pairs = [pair(1, 95, 120), pair(2, 92, 117), pair(3, 94, 114)];
    const report = renderIngestRatio(pairs, [even('bare+log', 185), even('service', 236)]);

    expect(report).toContain(
      '- connection per alert, an alert alone in its turn at this rate: service 119 us on top of 117, its core busy 0.85 of the time; ' +
        "bare+log 91 us on top of 94, its core busy 0.67 of the time (us of CPU per alert over the pairs' median)",
    );
  });

  it('tells nothing of a lone alert for a mode without both targets at an even rate', () => {
    const report = renderIngestRatio([pair(1, 95, 120)], [even('service', 236)]);

    expect(report).not.toContain('alone in its turn');
  });
});
